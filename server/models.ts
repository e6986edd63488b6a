/** Registered models (rows); registering them from disk is in ./register-models (it needs the worker's loader). */
import { eq } from 'drizzle-orm';
import { models } from '@/drizzle/schema';
import type { Db } from './db';

export type ModelRow = typeof models.$inferSelect;

export async function listModels(db: Db): Promise<ModelRow[]> {
  return db.select().from(models).orderBy(models.slug);
}

export async function getModelBySlug(db: Db, slug: string): Promise<ModelRow | undefined> {
  return db.query.models.findFirst({ where: eq(models.slug, slug) });
}

/** Registered SAEs (rows); registering them from disk is in ./register-saes (it needs the worker). */
import { and, eq } from 'drizzle-orm';
import { saes } from '@/drizzle/schema';
import type { Db } from './db';

export type SaeRow = typeof saes.$inferSelect;

export async function listSaes(db: Db, modelId: string): Promise<SaeRow[]> {
  return db.select().from(saes).where(eq(saes.modelId, modelId)).orderBy(saes.hookName, saes.slug);
}

export async function getSaeBySlug(db: Db, modelId: string, slug: string): Promise<SaeRow | undefined> {
  return db.query.saes.findFirst({ where: and(eq(saes.modelId, modelId), eq(saes.slug, slug)) });
}

/** Registered models (rows); registering them from disk is in ./register-models (it needs the worker's loader). */
import { eq } from 'drizzle-orm';
import { models, saes } from '@/drizzle/schema';
import type { Db } from './db';

export type ModelRow = typeof models.$inferSelect;

export async function listModels(db: Db): Promise<ModelRow[]> {
  return db.select().from(models).orderBy(models.slug);
}

export async function getModelBySlug(db: Db, slug: string): Promise<ModelRow | undefined> {
  return db.query.models.findFirst({ where: eq(models.slug, slug) });
}

/** Every registered SAE with its model's slug (one query), for overviews such as the home page. */
export async function listSaesByModel(db: Db): Promise<{ model: string; slug: string; hookName: string; architecture: string; dSae: number; hasDashboards: boolean }[]> {
  const rows = await db
    .select({ model: models.slug, slug: saes.slug, hookName: saes.hookName, architecture: saes.architecture, dSae: saes.dSae, runId: saes.currentRunId })
    .from(saes)
    .innerJoin(models, eq(saes.modelId, models.id))
    .orderBy(models.slug, saes.hookName, saes.slug);
  return rows.map(({ runId, ...row }) => ({ ...row, hasDashboards: runId !== null }));
}

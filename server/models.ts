/** Registered models (rows); registering them from disk is in ./register-models (it needs the worker's loader). */
import { eq } from 'drizzle-orm';
import { models, saes } from '@/drizzle/schema';
import { visibleModelSql, visibleSaeSql, type Viewer } from './authz';
import type { Db } from './db';

export type ModelRow = typeof models.$inferSelect;

/** The models `viewer` may see. */
export async function listModels(db: Db, viewer: Viewer): Promise<ModelRow[]> {
  return db.select().from(models).where(visibleModelSql(viewer, models.id)).orderBy(models.slug);
}

export async function getModelBySlug(db: Db, slug: string): Promise<ModelRow | undefined> {
  return db.query.models.findFirst({ where: eq(models.slug, slug) });
}

/** Every SAE `viewer` may see with its model's slug (one query), for overviews such as the home page. */
export async function listSaesByModel(db: Db, viewer: Viewer): Promise<{ model: string; slug: string; hookName: string; architecture: string; dSae: number; hasDashboards: boolean }[]> {
  const rows = await db
    .select({ model: models.slug, slug: saes.slug, hookName: saes.hookName, architecture: saes.architecture, dSae: saes.dSae, runId: saes.currentRunId })
    .from(saes)
    .innerJoin(models, eq(saes.modelId, models.id))
    .where(visibleSaeSql(viewer, saes.id))
    .orderBy(models.slug, saes.hookName, saes.slug);
  return rows.map(({ runId, ...row }) => ({ ...row, hasDashboards: runId !== null }));
}

/**
 * Looking a model, an SAE or a feature up by its slugs for a viewer: found only when they may see it (and do `action`), with
 * the same NOT_FOUND as for one that does not exist. Lists and searches filter with authz's SQL conditions instead.
 */
import { and, eq, sql, type SQL } from 'drizzle-orm';
import { models, saes } from '@/drizzle/schema';
import { authorize, type Action, type Level, type Viewer } from './authz';
import type { Db } from './db';
import { notFound } from './errors';
import { getModelBySlug, type ModelRow } from './models';
import { renderMemo } from './render-memo';

/** An SAE found by its address, with what the server needs of it and of its model. */
export interface ResolvedSae {
  modelId: string;
  modelSlug: string;
  modelContentHash: string;
  vocabSize: number;
  saeId: string;
  saeSlug: string;
  dSae: number;
  currentRunId: string | null;
}

/** SAEs looked up once per server render, by address and by id: a page's sections each look up the same SAE. */
const saesByAddress = renderMemo<ResolvedSae | undefined>();
const saesById = renderMemo<ResolvedSae | undefined>();

/** An SAE read by a broader statement (the feature page's), for the rest of this render. */
export function rememberSae(sae: ResolvedSae): void {
  saesByAddress.set(`${sae.modelSlug}/${sae.saeSlug}`, sae);
  saesById.set(sae.saeId, sae);
}

async function readSae(db: Db, where: SQL): Promise<ResolvedSae | undefined> {
  const [row] = await db
    .select({
      modelId: models.id,
      modelSlug: models.slug,
      modelContentHash: models.contentHash,
      vocabSize: sql<number>`(${models.config}->>'vocabSize')::int`,
      saeId: saes.id,
      saeSlug: saes.slug,
      dSae: saes.dSae,
      currentRunId: saes.currentRunId,
    })
    .from(saes)
    .innerJoin(models, eq(saes.modelId, models.id))
    .where(where);
  return row;
}

/**
 * The SAE at model/sae whoever asks (undefined: none); saeAt and featureAt are the lookups for a viewer. Read once
 * per server render (outside a render, every call reads).
 */
export function findSae(db: Db, modelSlug: string, saeSlug: string): Promise<ResolvedSae | undefined> {
  return saesByAddress.get(`${modelSlug}/${saeSlug}`, () => readSae(db, and(eq(models.slug, modelSlug), eq(saes.slug, saeSlug))!));
}

/** The SAE with this id whoever asks (undefined: none), as findSae. */
export function findSaeById(db: Db, saeId: string): Promise<ResolvedSae | undefined> {
  return saesById.get(saeId, () => readSae(db, eq(saes.id, saeId)));
}

/** The SAE at model/sae, once `viewer` may do `action` on it; its level comes along for the page's controls. */
export async function saeAt(db: Db, viewer: Viewer, action: Action, model: string, sae: string): Promise<ResolvedSae & { level: Level }> {
  const what = `SAE "${model}/${sae}"`;
  const row = await findSae(db, model, sae);
  if (!row) throw notFound(`no ${what}`);
  return { ...row, level: await authorize(db, viewer, action, { sae: row.saeId }, what) };
}

/**
 * The feature at model/sae/index, once `viewer` may do `action` on its SAE. An index past the SAE's end is NOT_FOUND
 * too, with the SAE's range, which only those who may see the SAE learn.
 */
export async function featureAt(
  db: Db,
  viewer: Viewer,
  action: Action,
  a: { model: string; sae: string; index: number },
): Promise<ResolvedSae & { index: number; level: Level }> {
  const what = `feature ${a.model}/${a.sae}/${a.index}`;
  const row = await findSae(db, a.model, a.sae);
  if (!row) throw notFound(`no ${what}`);
  const level = await authorize(db, viewer, action, { sae: row.saeId }, what);
  if (a.index >= row.dSae) throw notFound(`${what} is out of range: this SAE has features 0..${row.dSae - 1}`);
  return { ...row, index: a.index, level };
}

/** The model with this slug, once `viewer` may do `action` on it. */
export async function modelAt(db: Db, viewer: Viewer, action: Action, slug: string): Promise<ModelRow & { level: Level }> {
  const what = `model "${slug}"`;
  const model = await getModelBySlug(db, slug);
  if (!model) throw notFound(`no ${what}`);
  return { ...model, level: await authorize(db, viewer, action, { model: model.id }, what) };
}

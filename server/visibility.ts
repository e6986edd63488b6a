/**
 * Looking a model, an SAE or a feature up by its slugs for a viewer: found only when they may see it (and do `action`), with
 * the same NOT_FOUND as for one that does not exist. Lists and searches filter with authz's SQL conditions instead.
 */
import { TRPCError } from '@trpc/server';
import { authorize, type Action, type Level, type Viewer } from './authz';
import type { Db } from './db';
import { findSae, type SaeAddress } from './features';
import { getModelBySlug, type ModelRow } from './models';

/** The SAE at model/sae, once `viewer` may do `action` on it; its level comes along for the page's controls. */
export async function saeAt(db: Db, viewer: Viewer, action: Action, model: string, sae: string): Promise<SaeAddress & { level: Level }> {
  const what = `SAE "${model}/${sae}"`;
  const row = await findSae(db, model, sae);
  if (!row) throw new TRPCError({ code: 'NOT_FOUND', message: `no ${what}` });
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
): Promise<SaeAddress & { index: number; level: Level }> {
  const what = `feature ${a.model}/${a.sae}/${a.index}`;
  const row = await findSae(db, a.model, a.sae);
  if (!row) throw new TRPCError({ code: 'NOT_FOUND', message: `no ${what}` });
  const level = await authorize(db, viewer, action, { sae: row.saeId }, what);
  if (a.index >= row.dSae) throw new TRPCError({ code: 'NOT_FOUND', message: `${what} is out of range: this SAE has features 0..${row.dSae - 1}` });
  return { ...row, index: a.index, level };
}

/** The model with this slug, once `viewer` may do `action` on it. */
export async function modelAt(db: Db, viewer: Viewer, action: Action, slug: string): Promise<ModelRow & { level: Level }> {
  const what = `model "${slug}"`;
  const model = await getModelBySlug(db, slug);
  if (!model) throw new TRPCError({ code: 'NOT_FOUND', message: `no ${what}` });
  return { ...model, level: await authorize(db, viewer, action, { model: model.id }, what) };
}

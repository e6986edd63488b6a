/** The SAE an import goes into, and whether it already holds that import. */
import { and, eq } from 'drizzle-orm';
import { dashboardRuns, saes } from '@/drizzle/schema';
import { InputError } from '@/compute/errors';
import type { Db } from '../db';
import { getModelBySlug } from '../models';
import { defaultSaeSlug } from '../register-saes';
import type { SaeRow } from '../saes';
import type { SaeWeights } from './neuronpedia-store';

export type TargetSae = SaeRow & { modelSlug: string };

/**
 * The SAE an import goes into: `given` (MODEL/SAE), else the export's own names: its model id is a model's slug, and
 * its source id an SAE's slug, or names the layer (Neuronpedia's "8-res-jb") of exactly one SAE of that kind.
 */
export async function targetSae(db: Db, given: string | undefined, named: { modelId: string | null; sourceId: string | null }): Promise<TargetSae> {
  if (given) {
    const [modelSlug, saeSlug, ...rest] = given.split('/');
    if (!modelSlug || !saeSlug || rest.length > 0) throw new InputError(`--sae wants MODEL/SAE, not "${given}"`);
    const model = await getModelBySlug(db, modelSlug);
    if (!model) throw new InputError(`no model "${modelSlug}" is registered`);
    const sae = await db.query.saes.findFirst({ where: and(eq(saes.modelId, model.id), eq(saes.slug, saeSlug)) });
    if (!sae) throw new InputError(`model ${modelSlug} has no SAE "${saeSlug}"`);
    return { ...sae, modelSlug };
  }
  const names = `the export's source "${named.sourceId ?? '?'}" of model "${named.modelId ?? '?'}"`;
  const model = named.modelId ? await getModelBySlug(db, named.modelId) : undefined;
  if (!model) throw new InputError(`${names} names no model registered in Lexicon; give the target SAE with --sae MODEL/SAE`);
  const candidates = await db.query.saes.findMany({ where: eq(saes.modelId, model.id) });
  const bySlug = candidates.find((s) => s.slug === named.sourceId);
  if (bySlug) return { ...bySlug, modelSlug: model.slug };
  // "8-res-jb": layer 8, a residual-stream SAE; our default slugs read the same way ("8-res-pre")
  const [layer, kind] = (named.sourceId ?? '').split('-');
  const onLayer = candidates.filter((s) => {
    const [l, k] = defaultSaeSlug(s.hookName).split('-');
    return l === layer && k === kind;
  });
  if (onLayer.length === 1) return { ...onLayer[0]!, modelSlug: model.slug };
  const known = candidates.map((s) => `${s.slug} (${s.hookName})`).join(', ') || 'none';
  throw new InputError(`${names} names no SAE registered in Lexicon (the model's SAEs: ${known}); give the target SAE with --sae MODEL/SAE`);
}

/** Whether the SAE's current run was imported from inputs with this hash (then importing them again is a no-op). */
export async function currentImport(db: Db, sae: SaeRow, inputsHash: string): Promise<string | null> {
  if (!sae.currentRunId) return null;
  const run = await db.query.dashboardRuns.findFirst({ where: eq(dashboardRuns.id, sae.currentRunId), columns: { id: true, source: true } });
  return run?.source?.inputsHash === inputsHash ? run.id : null;
}

/**
 * The SAE's per-feature weight statistics, which no export layout carries, and its decoder rows, read from its own
 * files; null (with the reason on stderr) when those cannot be read here: the imported rows keep 0 for the statistics,
 * and given decoder vectors become the SAE's stored decoder rows.
 */
export async function readSaeWeights(sae: SaeRow): Promise<SaeWeights | null> {
  const [{ initBackend }, { loadSae }, { featureStats }] = await Promise.all([
    import('@/compute/backend'),
    import('@/compute/sae/load'),
    import('@/compute/analyses/feature-stats'),
  ]);
  await initBackend();
  let loaded;
  try {
    loaded = await loadSae(sae.path);
  } catch (err) {
    console.error(`[import] the weight statistics of ${sae.slug} stay 0: its files at ${sae.path} cannot be read (${(err as Error).message})`);
    return null;
  }
  try {
    const { W_dec } = loaded.weights;
    return { stats: featureStats(loaded), decoder: W_dec.dataSync() as Float32Array, width: W_dec.shape[1] };
  } finally {
    loaded.dispose();
  }
}

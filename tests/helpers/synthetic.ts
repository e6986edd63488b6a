/**
 * Synthetic SAEs with dashboards, written through the server's own storing functions (storeCorpus, beginRun,
 * storeFeatureDashboards, completeRun): for integration tests and browser-test seeds that need many features with
 * known statistics without running a model. Deterministic for a seed; the generated dashboards are returned so
 * tests can compute expected answers independently of SQL.
 */
import { sql } from 'drizzle-orm';
import { models, modelVocabs, saes } from '@/drizzle/schema';
import { storeCorpus } from '@/server/corpora';
import { beginRun, completeRun, storeFeatureDashboards } from '@/server/dashboards';
import type { Db } from '@/server/db';
import { seededRandom, type Random } from '@/compute/random';
import type { FeatureDashboard, PositionMetrics, SaeEvals } from '@/compute/dashboards/types';

export interface SyntheticSae {
  id: string;
  slug: string;
  runId: string;
  dashboards: FeatureDashboard[];
}

export interface SyntheticModel {
  id: string;
  slug: string;
  vocab: string[];
  contexts: number[][];
  saes: SyntheticSae[];
}

/** Words for the vocabulary: token i is WORDS[i % n] with a leading space for odd ids (as sentencepiece pieces). */
const WORDS = ['the', 'cat', 'dog', 'sat', 'on', 'mat', 'ran', 'Lily', 'Tom', 'happy', 'sad', 'tree', 'ball', 'park', 'sun', 'rain'];

export function syntheticVocab(size: number): string[] {
  return Array.from({ length: size }, (_, i) => {
    if (i === 0) return '<unk>';
    if (i === 1) return '<s>';
    const word = `${WORDS[i % WORDS.length]}${i >= 2 * WORDS.length ? Math.floor(i / (2 * WORDS.length)) : ''}`;
    return i % 2 === 1 ? ` ${word}` : word;
  });
}

export async function seedSyntheticModel(
  db: Db,
  options: {
    slug: string;
    vocabSize?: number;
    /** `cfg`: more cfg.json fields (a transcoder's architecture, d_out and hook_name_out) */
    saes: { slug: string; hookName: string; dSae: number; cfg?: { architecture?: string } & Record<string, unknown> }[];
    nContexts?: number;
    contextSize?: number;
    /** tokens densities are "measured" over */
    nTokens?: number;
    topExamples?: number;
    seed?: number;
  },
): Promise<SyntheticModel> {
  const vocabSize = options.vocabSize ?? 64;
  const contextSize = options.contextSize ?? 16;
  const nContexts = options.nContexts ?? 40;
  const nTokens = options.nTokens ?? 1_000_000;
  const random = seededRandom(options.seed ?? 1);
  const vocab = syntheticVocab(vocabSize);
  const config = { nLayers: 4, dModel: 32, nHeads: 4, nKvHeads: 4, dMlp: 128, vocabSize, contextLength: contextSize * 2, hookNames: [] };
  const [model] = await db
    .insert(models)
    .values({ slug: options.slug, architecture: 'llama', path: `/nonexistent/${options.slug}`, config, contentHash: `synthetic-${options.slug}` })
    .returning();
  await db.insert(modelVocabs).values({ modelId: model!.id, contentHash: model!.contentHash, pieces: vocab });
  const contexts = Array.from({ length: nContexts }, () => [1, ...Array.from({ length: contextSize - 1 }, () => 2 + Math.floor(random() * (vocabSize - 2)))]);
  const corpus = await storeCorpus({ modelId: model!.id, name: `${options.slug} synthetic`, contexts, contextSize, prependBos: true, source: { synthetic: true } });

  const out: SyntheticSae[] = [];
  for (const spec of options.saes) {
    const [sae] = await db
      .insert(saes)
      .values({
        modelId: model!.id,
        slug: spec.slug,
        hookName: spec.hookName,
        architecture: spec.cfg?.architecture ?? 'standard',
        dIn: 32,
        dSae: spec.dSae,
        cfg: { architecture: 'standard', d_in: 32, d_sae: spec.dSae, hook_name: spec.hookName, ...spec.cfg },
        path: `/nonexistent/${spec.slug}`,
        contentHash: `synthetic-${spec.slug}`,
      })
      .returning();
    const dashboards = Array.from({ length: spec.dSae }, (_, index) =>
      syntheticDashboard(random, index, { nTokens, contexts, vocabSize, topExamples: options.topExamples ?? 3 }),
    );
    const run = await beginRun(db, { saeId: sae!.id, corpusId: corpus.id, jobId: null, params: { synthetic: true } });
    await storeFeatureDashboards(db, run.id, sae!.id, dashboards);
    await completeRun(run.id, { evals: syntheticEvals(dashboards, nTokens, contextSize), timings: {}, nTokens, subset: false });
    out.push({ id: sae!.id, slug: spec.slug, runId: run.id, dashboards });
  }
  return { id: model!.id, slug: options.slug, vocab, contexts, saes: out };
}

/**
 * One feature: about 10% dead, 10% ultra-rare (1–9 firings in nTokens), the rest log-uniform in [1e-5, 0.3]; many
 * exact density ties (firing counts repeat), so keyset pagination's tie-break on index is exercised.
 */
export function syntheticDashboard(
  random: Random,
  index: number,
  o: { nTokens: number; contexts: number[][]; vocabSize: number; topExamples: number },
): FeatureDashboard {
  const kind = random();
  const nonzeroCount =
    kind < 0.1 ? 0 : kind < 0.2 ? 1 + Math.floor(random() * 9) : kind < 0.3 ? 1000 : Math.round(o.nTokens * 10 ** (-5 + random() * 4.5));
  const density = nonzeroCount / o.nTokens;
  const dead = nonzeroCount === 0;
  const maxAct = dead ? 0 : Math.fround(0.5 + random() * 10);
  const deDot = Math.fround(dead || kind < 0.2 ? (random() - 0.5) * 0.6 : 0.7 + random() * 0.5);
  const topExamples = dead
    ? []
    : Array.from({ length: Math.min(o.topExamples, nonzeroCount) }, (_, rank) => {
        const contextIndex = Math.floor(random() * o.contexts.length);
        const tokens = o.contexts[contextIndex]!;
        const maxPos = 1 + Math.floor(random() * (tokens.length - 1));
        const acts = new Float32Array(tokens.length);
        const peak = Math.fround(maxAct * (1 - rank * 0.1));
        acts[maxPos] = peak;
        if (maxPos > 1) acts[maxPos - 1] = Math.fround(peak / 3);
        return { contextIndex, tokens, acts, maxAct: peak, maxPos };
      });
  const ids = new Set<number>();
  while (ids.size < 5) ids.add(2 + Math.floor(random() * (o.vocabSize - 2)));
  const top = [...ids].map((id, i) => ({ id, value: Math.fround(2 - i * 0.3 + random() * 0.1) }));
  return {
    index,
    nTokens: o.nTokens,
    nonzeroCount,
    bosCount: 0,
    bosExcluded: true,
    density,
    maxAct,
    meanAct: maxAct / 2,
    meanActAll: (maxAct / 2) * density,
    histogram: dead ? { edges: [], counts: [] } : { edges: [0, maxAct / 2, maxAct], counts: [Math.ceil(nonzeroCount / 2), Math.floor(nonzeroCount / 2)] },
    topExamples,
    randomExamples: [],
    intervals: [],
    logitWeights: { top, bottom: top.map((w) => ({ id: w.id, value: -w.value })) },
    logitFoldLn: true,
    logitHistogram: { edges: [-2, 0, 2], counts: [o.vocabSize / 2, o.vocabSize / 2] },
    encoderBias: Math.fround(dead || kind < 0.2 ? -1 - random() * 3 : (random() - 0.5) * 0.5),
    encoderNorm: 1,
    decoderNorm: 1,
    deDot,
    deCos: Math.fround(Math.max(-1, Math.min(1, deDot))),
  };
}

/** Evals shaped as the dashboards job stores them (firing counts left out), consistent with the dashboards. */
export function syntheticEvals(dashboards: FeatureDashboard[], nTokens: number, positions: number): Omit<SaeEvals, 'firingCounts'> {
  const metrics = (n: number, p: number) => ({
    nTokens: n,
    l0: 12 + p * 0.1,
    mse: 0.01 * (1 + p / positions),
    varianceExplained: 0.9 - (0.2 * p) / positions,
    centredSumOfSquares: n,
    nPredictions: n,
    ceClean: 1.5,
    ceSpliced: 1.6 + (0.2 * p) / positions,
    ceAblated: 3,
    ceRecovered: 0.93 - (0.1 * p) / positions,
  });
  const byPosition: PositionMetrics[] = Array.from({ length: positions }, (_, position) => ({ position, ...metrics(nTokens / positions, position) }));
  const lo = Math.floor(Math.log10(1 / nTokens));
  const bins = 30;
  const counts = new Array<number>(bins).fill(0);
  let dead = 0;
  let ultraRare = 0;
  for (const d of dashboards) {
    if (d.nonzeroCount === 0) {
      dead++;
      continue;
    }
    if (d.density < 1e-5) ultraRare++;
    counts[Math.min(bins - 1, Math.floor(((Math.log10(d.density) - lo) / -lo) * bins))]!++;
  }
  return {
    ...metrics(nTokens, positions / 2),
    ablation: 'mean',
    meanOver: 'all corpus tokens, BOS included',
    nFeatures: dashboards.length,
    deadFraction: dead / dashboards.length,
    ultraRareFraction: ultraRare / dashboards.length,
    ultraRareDensity: 1e-5,
    densityHistogram: { edges: Array.from({ length: bins + 1 }, (_, i) => lo + (-lo * i) / bins), counts, dead },
    byPosition,
  };
}

/** Labels (and optionally descriptions) on features, each as a first revision, through the wiki's edit. */
export async function labelFeatures(
  db: Db,
  saeId: string,
  pages: { index: number; label: string; body?: string }[],
  authorId: string,
): Promise<void> {
  const { editFeature } = await import('@/server/descriptions');
  for (const p of pages) {
    await editFeature(db, { saeId, index: p.index, label: p.label, body: p.body ?? '', summary: 'synthetic', baseRevision: 0, authorId });
  }
}

export async function countRows(db: Db, table: string): Promise<number> {
  const { rows } = await db.execute<{ n: number }>(sql`select count(*)::int as n from ${sql.identifier(table)}`);
  return rows[0]!.n;
}

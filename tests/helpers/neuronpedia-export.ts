/**
 * Synthetic exports in the layouts Lexicon imports: a Neuronpedia export source folder
 * (`<modelId>/<sourceId>/{features,activations,explanations}/batch-N.jsonl.gz`, `source.jsonl`) and SAEDashboard's
 * NeuronpediaRunner output (`batch-N.json`). Every feature is a pure function of (seed, index), so tests can ask for
 * what a feature should hold without reading the files back.
 */
import { createWriteStream } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { once } from 'node:events';
import { createGzip, constants } from 'node:zlib';
import { seededRandom } from '@/compute/random';

export interface SyntheticExport {
  modelId: string;
  sourceId: string;
  /** the model's pieces; example tokens are drawn from ids ≥ 2, and each context starts with piece 1 (BOS) */
  vocab: string[];
  nFeatures: number;
  topExamples: number;
  intervals: number;
  perInterval: number;
  contextLength: number;
  /** stated by source.jsonl: num_prompts × num_tokens_in_prompt */
  nPrompts: number;
  featuresPerBatch: number;
  seed: number;
  /** one explanation per feature */
  explanations: boolean;
  /** the length of each feature's decoder `vector` (0: none written, as most exports) */
  vectorWidth: number;
}

export const EXPORT_DEFAULTS = { topExamples: 3, intervals: 2, perInterval: 2, contextLength: 8, nPrompts: 1000, featuresPerBatch: 16, seed: 7, explanations: true, vectorWidth: 0 };

export interface NpActivation {
  index: string;
  tokens: string[];
  values: number[];
  maxValue: number;
  maxValueTokenIndex: number;
  binMin: number;
  binMax: number;
  binContains: number;
  qualifyingTokenIndex: number | null;
}

/** A feature's feature line, activation lines (top examples first, then intervals from the highest) and explanation. */
export function syntheticFeature(o: SyntheticExport, index: number) {
  const random = seededRandom(o.seed * 100_003 + index);
  const piece = () => o.vocab[2 + Math.floor(random() * (o.vocab.length - 2))]!;
  const maxAct = Math.fround(1 + random() * 9);
  const fracNonzero = Math.round(random() * 200) / (o.nPrompts * o.contextLength);
  const context = (peak: number) => {
    const tokens = [o.vocab[1]!, ...Array.from({ length: o.contextLength - 1 }, piece)];
    const at = 1 + Math.floor(random() * (o.contextLength - 1));
    const values = tokens.map((_, i) => (i === at ? peak : i === at - 1 ? Math.fround(peak / 4) : 0));
    return { tokens, values, maxValue: peak, maxValueTokenIndex: at };
  };
  const width = maxAct / o.intervals;
  const activations: NpActivation[] = [
    ...Array.from({ length: o.topExamples }, (_, rank) => ({
      index: String(index),
      ...context(Math.fround(maxAct * (1 - rank * 0.05))),
      binMin: -1,
      binMax: maxAct,
      binContains: -1,
      qualifyingTokenIndex: null,
    })),
    ...Array.from({ length: o.intervals }, (_, k) => o.intervals - 1 - k).flatMap((bin) =>
      Array.from({ length: o.perInterval }, () => {
        const c = context(Math.fround(width * (bin + 0.5)));
        return { index: String(index), ...c, binMin: width * bin, binMax: width * (bin + 1), binContains: 0.25, qualifyingTokenIndex: c.maxValueTokenIndex };
      }),
    ),
  ];
  const pos = [piece(), piece(), piece()];
  const feature = {
    modelId: o.modelId,
    layer: o.sourceId,
    index: String(index),
    maxActApprox: maxAct,
    frac_nonzero: fracNonzero,
    freq_hist_data_bar_values: [0.25, 0.75, 1.25].map((v) => v * maxAct),
    freq_hist_data_bar_heights: [30, 20, 10],
    logits_hist_data_bar_values: [-0.5, 0, 0.5],
    logits_hist_data_bar_heights: [5, 40, 5],
    pos_str: pos,
    pos_values: [0.9, 0.8, 0.7],
    neg_str: [piece(), piece()],
    neg_values: [-0.9, -0.8],
    ...(o.vectorWidth > 0 ? { hasVector: true, vector: Array.from({ length: o.vectorWidth }, () => Math.fround(random() * 2 - 1)) } : {}),
  };
  const explanation = {
    modelId: o.modelId,
    layer: o.sourceId,
    index: String(index),
    description: `${pos[0]!.trim()} and friends`,
    typeName: 'oai_token-act-pair',
    explanationModelName: 'gpt-4o-mini',
  };
  return { feature, activations, explanation };
}

/** Writes the export under `root/<modelId>/<sourceId>/` and returns that folder. */
export async function writeNeuronpediaExport(root: string, options: Partial<SyntheticExport> & Pick<SyntheticExport, 'modelId' | 'sourceId' | 'vocab' | 'nFeatures'>) {
  const o: SyntheticExport = { ...EXPORT_DEFAULTS, ...options };
  const dir = path.join(root, o.modelId, o.sourceId);
  for (const folder of ['features', 'activations', 'explanations']) await fs.mkdir(path.join(dir, folder), { recursive: true });
  await fs.writeFile(
    path.join(dir, 'source.jsonl'),
    JSON.stringify({ id: o.sourceId, modelId: o.modelId, num_prompts: o.nPrompts, num_tokens_in_prompt: o.contextLength }) + '\n',
  );
  for (let batch = 0; batch * o.featuresPerBatch < o.nFeatures; batch++) {
    const name = `batch-${batch}.jsonl.gz`;
    const writers = {
      features: gzLines(path.join(dir, 'features', name)),
      activations: gzLines(path.join(dir, 'activations', name)),
      explanations: gzLines(path.join(dir, 'explanations', name)),
    };
    for (let index = batch * o.featuresPerBatch; index < Math.min(o.nFeatures, (batch + 1) * o.featuresPerBatch); index++) {
      const f = syntheticFeature(o, index);
      await writers.features.write(f.feature);
      for (const a of f.activations) await writers.activations.write(a);
      if (o.explanations) await writers.explanations.write(f.explanation);
    }
    await Promise.all(Object.values(writers).map((w) => w.end()));
  }
  return { dir, options: o };
}

/** SAEDashboard's NeuronpediaRunner output of the same features: one batch-N.json per featuresPerBatch features. */
export async function writeSaeDashboardOutput(dir: string, options: Partial<SyntheticExport> & Pick<SyntheticExport, 'modelId' | 'vocab' | 'nFeatures'> & { layer: number; saeSet: string }) {
  const o: SyntheticExport = { ...EXPORT_DEFAULTS, sourceId: `${options.layer}-${options.saeSet}`, ...options };
  await fs.mkdir(dir, { recursive: true });
  for (let batch = 0; batch * o.featuresPerBatch < o.nFeatures; batch++) {
    const features = [];
    for (let index = batch * o.featuresPerBatch; index < Math.min(o.nFeatures, (batch + 1) * o.featuresPerBatch); index++) {
      const { feature, activations } = syntheticFeature(o, index);
      const { modelId: _m, layer: _l, index: _i, maxActApprox: _x, ...fields } = feature;
      features.push({
        feature_index: index,
        ...fields,
        n_prompts_total: o.nPrompts,
        n_tokens_in_prompt: o.contextLength,
        dataset: 'synthetic',
        activations: activations.map((a) => ({
          bin_min: a.binMin,
          bin_max: a.binMax,
          bin_contains: a.binContains,
          tokens: a.tokens,
          values: a.values,
          ...(a.qualifyingTokenIndex === null ? {} : { qualifying_token_index: a.qualifyingTokenIndex }),
        })),
      });
    }
    await fs.writeFile(path.join(dir, `batch-${batch}.json`), JSON.stringify({ model_id: o.modelId, layer: options.layer, sae_set: options.saeSet, features }));
  }
  return { dir, options: o };
}

/** JSON lines into a gzip file, minding backpressure (the bench writes gigabytes). */
function gzLines(file: string) {
  const gzip = createGzip({ level: constants.Z_BEST_SPEED });
  const done = once(gzip.pipe(createWriteStream(file)), 'finish');
  return {
    async write(value: object) {
      if (!gzip.write(JSON.stringify(value) + '\n')) await once(gzip, 'drain');
    },
    async end() {
      gzip.end();
      await done;
    },
  };
}

import * as tf from '@tensorflow/tfjs-core';
import { InputError } from '../errors';
import type { LanguageModel } from '../model/types';
import type { Sae } from '../sae/sae';
import { inputHook, tokenVectors } from '../sae/site';
import { ablatedLosses } from './ablation';
import { EXAMPLES_PER_INTERVAL, HISTOGRAM_BINS, INTERVALS, TOP_K } from './defaults';
import { evalBatch, meanAblatedBatch } from './eval-passes';
import { EvalAccumulator } from './evals';
import { ActivationSamples, ActivationTotals, featureDashboards, type SampleOptions, type TotalsOptions } from './features';
import { lossesWithHooks } from './losses';
import { ablationTokensEstimate } from './shard-size';
import { equalLengthBatches, flatten, ProgressTracker, Stopwatch } from './passes';
import type {
  ActivationExample, DashboardProgress, DashboardResult, DashboardTimings, ExampleAblation, FeatureDashboard, SaeEvals,
} from './types';
import { featureWeights, weightsChunkSize, type FeatureWeights } from './weights';


export interface DashboardOptions {
  model: LanguageModel;
  sae: Sae;
  /** token ids per context, BOS included as the SAE was trained; runs of equal-length contexts are batched */
  contexts: number[][];
  /** the features to compute dashboards for, in this order (default: all); the SAE evals, when computed, cover all */
  features?: number[];
  /**
   * contexts per forward pass (default 8). Bounds memory: one batch's activations, [batch·T, d_sae] on the
   * device and [batch·T, features] on the host, are all that is held at a time.
   */
  batchSize?: number;
  /** top examples per feature (default 20) */
  topK?: number;
  /** quantile intervals between 0 and the maximum activation (default 10) */
  intervals?: number;
  /** examples drawn per interval (default 5) */
  examplesPerInterval?: number;
  /** contexts drawn at random among those where the feature fires, beside the top ones (default 10) */
  randomExamples?: number;
  /**
   * leave BOS tokens out of the top, interval and random examples, the maximum and the activation histogram, as
   * SAEDashboard and Neuronpedia can (default true); density counts them either way, and bosCount says how many
   */
  excludeBos?: boolean;
  /** bins of the activation, logit-weight and log-density histograms (default 50) */
  histogramBins?: number;
  /** tokens listed in the logit weights, top and bottom (default 10) */
  logitWeightCount?: number;
  /** logit weights with the final norm folded into W_U, as TransformerLens fold_ln (default true; false: raw W_dec·W_U) */
  foldLn?: boolean;
  /**
   * also measure each top example's per-token loss change with the feature ablated (default false); the clean losses
   * it compares with come from the evals' clean pass, or without one from a clean pass over the top examples' contexts
   */
  ablateTopExamples?: boolean;
  /** seeds the interval sampling (default 0) */
  seed?: number;
  /**
   * The SAE evals, which cover all features whatever `features` says:
   * - 'compute' (default): the reconstruction metrics and the clean, spliced, zero- and mean-ablated losses;
   * - 'skip': none (`sae` is null in the result), for a run of some features that stores no evals (a recompute from a
   *   feature page);
   * - the evals of an earlier pass over the same corpus with the same SAE (an earlier chunk of its features), reused.
   * Unless computing them, the run computes no losses over the corpus — no full, spliced or mean-ablated forward
   * passes — only the model up to the hook (or not at all, with `hookCache`) and the SAE encoder.
   */
  evals?: 'compute' | 'skip' | SaeEvals;
  /**
   * Hook activations shared by the passes over the same corpus: a pass that runs the model fills it, as far as its
   * byte budget goes, and a run that does not compute the evals reads them from it instead (in its second pass, and
   * in the passes of later feature chunks).
   */
  hookCache?: HookActivationCache;
  /** called after every batch; awaited, so it may write to a database */
  onProgress?: (progress: DashboardProgress) => void | Promise<void>;
  /** checked between batches; an abort rejects with signal.reason (an AbortError by default) */
  signal?: AbortSignal;
}

/**
 * Feature dashboards and SAE evals over a corpus, streamed through model → hook → SAE in batches:
 *
 * 0. 'weights': logit weights and encoder/decoder statistics, straight from the weights, in chunks.
 * 1. 'statistics': the clean forward pass (loss, hook activations), the SAE, the forward passes with the
 *    reconstruction spliced in and with the hook zeroed (losses). Per feature: firing count, BOS firings, activation
 *    sum, the top contexts by maximum and the random ones (bottom-k); per position: the eval sums, including the
 *    hook's mean, which pass 2 needs.
 * 2. 'examples': the forward pass with the hook mean-ablated (loss), recording the hook activations on the way to
 *    re-encode them: with each feature's maximum known, histograms over [0, max], interval samples, and the
 *    per-token activations of the top and random contexts.
 * 3. 'ablation' (optional): each top example re-run with its feature ablated.
 *
 * Two passes keep memory bounded by a batch plus the output (examples), at the price of encoding twice; pass 2's
 * forward pass would be needed anyway for the mean-ablated loss. Without the evals (skipped or reused), pass 1 runs
 * the model only up to the hook, and pass 2 not at all when the hook activations fit in a `hookCache`. Results are
 * deterministic for a given backend, corpus, batch size and seed.
 */
export async function computeDashboards<O extends DashboardOptions>(options: O): Promise<DashboardResult<EvalsOf<O>>> {
  return (await new DashboardRun(options).run()) as DashboardResult<EvalsOf<O>>;
}

/** The result's evals: null where the options may skip them. */
type EvalsOf<O extends DashboardOptions> = O extends { evals?: infer E } ? ('skip' extends E ? SaeEvals | null : SaeEvals) : SaeEvals;

type Settings = Required<Omit<DashboardOptions, 'onProgress' | 'signal' | 'hookCache'>> & Pick<DashboardOptions, 'hookCache'> & { range: ContextRange };

/** Contexts first..first+count−1 of a corpus. */
export interface ContextRange {
  first: number;
  count: number;
}

/** A pass over one range of the corpus: its part of the bookkeeping, to merge with the other ranges' parts. */
export interface RangePart<T> {
  part: T;
  timings: DashboardTimings;
}

/*
 * The dashboards of a corpus computed in ranges of it (a job's shards): pass 1 over each range, the parts merged
 * (ActivationTotals.merged), pass 2 over each range with the merged totals, those parts merged
 * (ActivationSamples.merged), then the dashboards. The same code as computeDashboards, which is one range: for ranges
 * made of its batches (rangesOfBatches), the same dashboards but for the order the float64 sums add in. No evals (the
 * job computes them over ranges of its own).
 */

/** Pass 1 over `range`: its part of the totals. */
export async function statisticsOfRange(options: DashboardOptions & { range: ContextRange }): Promise<RangePart<ActivationTotals>> {
  return new DashboardRun({ ...options, evals: 'skip' }, 1).statisticsPart();
}

/** Pass 2 over `range`, given the totals merged over the whole corpus: its part of the samples. */
export async function examplesOfRange(options: DashboardOptions & { range: ContextRange }, totals: ActivationTotals): Promise<RangePart<ActivationSamples>> {
  return new DashboardRun({ ...options, evals: 'skip' }, 1).examplesPart(totals);
}

/** The dashboards from both passes' parts merged over the whole corpus, with their weights and (when asked for) ablations. */
export async function dashboardsOfParts(options: DashboardOptions, totals: ActivationTotals, samples: ActivationSamples): Promise<{ features: FeatureDashboard[]; timings: DashboardTimings }> {
  return new DashboardRun({ ...options, evals: 'skip' }, 0).mergedDashboards(totals, samples);
}

/** How a run with these options keeps its parts: what reading them back needs (parts.ts). */
export function partOptions(options: DashboardOptions): { totals: TotalsOptions; samples: SampleOptions } {
  const s = settings(options);
  return { totals: { features: s.features, topK: s.topK, randomExamples: s.randomExamples, seed: s.seed }, samples: { ...s, bosId: s.model.tokenizer.bosId } };
}

/**
 * `n` ranges of the corpus made of whole batches of its contexts (as equalLengthBatches cuts it), as even in batches as
 * can be, at most one per batch: a pass over each batches them as one pass over the whole corpus does.
 */
export function rangesOfBatches(contexts: number[][], batchSize: number, n: number): ContextRange[] {
  const starts = [...equalLengthBatches(contexts, (context) => context, batchSize)].map((batch) => batch.first);
  const ranges = Math.min(n, starts.length);
  return Array.from({ length: ranges }, (_, i) => {
    const first = starts[Math.floor((i * starts.length) / ranges)];
    const end = i + 1 === ranges ? contexts.length : starts[Math.floor(((i + 1) * starts.length) / ranges)];
    return { first, count: end - first };
  });
}

/**
 * Hook activations of a corpus, batch by batch, kept on the host between passes over it (a run's two passes without
 * the evals, feature chunks), so that later passes need not run the model. Holds nothing once the activations would
 * exceed the byte budget.
 */
export class HookActivationCache {
  private readonly batches = new Map<string, { data: Float32Array; shape: [number, number, number] }>();
  private bytes = 0;
  private full = false;

  /** default budget: 512 MiB (e.g. 170k tokens of a 768-wide hook) */
  constructor(readonly budgetBytes = 512 * 2 ** 20) {}

  /** records a batch (contexts first..first+batch−1) as the first pass computed it */
  put(first: number, x: tf.Tensor3D): void {
    if (this.full) return;
    const bytes = x.size * 4;
    if (this.bytes + bytes > this.budgetBytes) {
      this.full = true;
      this.batches.clear();
      this.bytes = 0;
      return;
    }
    this.batches.set(`${first}:${x.shape[0]}`, { data: Float32Array.from(x.dataSync() as Float32Array), shape: x.shape });
    this.bytes += bytes;
  }

  /** the batch's activations as a new tensor (the caller disposes it), or undefined when not cached */
  get(first: number, batch: number): tf.Tensor3D | undefined {
    const entry = this.batches.get(`${first}:${batch}`);
    return entry && tf.tensor3d(entry.data, entry.shape);
  }
}

class DashboardRun {
  private readonly s: Settings;
  /** the SAE reads at `hook` (and writes, splices, ablates at its output hook, the same but for a transcoder: eval-passes.ts) */
  private readonly hook: string;
  private readonly bosId: number;
  /** tokens of the run's range of the corpus (all of it but in a pass over one range) */
  private readonly nTokens: number;
  /** token positions the run's passes go through: both passes, one, or none (a merge) */
  private readonly passTokens: number;
  private readonly clock = new Stopwatch();
  private readonly time: Stopwatch['time'] = (part, work) => this.clock.time(part, work);
  private readonly progress: ProgressTracker;
  private readonly evals: EvalAccumulator;
  private readonly totals: ActivationTotals;
  /** the features' indices, unless they are all of them in order */
  private readonly selected?: tf.Tensor1D;
  /** clean next-token losses by context index, kept only when top examples are to be ablated */
  private readonly cleanLosses: Float32Array[] = [];

  constructor(options: DashboardOptions & { range?: ContextRange }, passes: 0 | 1 | 2 = 2) {
    this.s = settings(options);
    const { sae, contexts, features, topK, ablateTopExamples, range } = this.s;
    this.hook = inputHook(sae);
    this.bosId = this.s.model.tokenizer.bosId;
    this.nTokens = contexts.slice(range.first, range.first + range.count).reduce((n, context) => n + context.length, 0);
    this.passTokens = passes * this.nTokens;
    const ablationEstimate = ablateTopExamples && passes !== 1 ? ablationTokensEstimate(features.length, topK, contexts) : 0;
    this.progress = new ProgressTracker(this.passTokens + ablationEstimate, options.onProgress, options.signal);
    const longest = contexts.reduce((max, context) => Math.max(max, context.length), 0);
    this.evals = new EvalAccumulator(sae.cfg.dOut, sae.dSae, longest);
    this.totals = new ActivationTotals(partOptions(this.s).totals);
    if (!(features.length === sae.dSae && features.every((f, i) => f === i))) this.selected = tf.tensor1d(features, 'int32');
  }

  async run(): Promise<DashboardResult<SaeEvals | null>> {
    const { s } = this;
    try {
      const weights = await this.weights();
      this.progress.startClock();
      await this.statisticsPass();
      const samples = this.samplesFor(this.totals);
      await this.examplesPass(samples);
      const features = await this.dashboards(this.totals, samples, weights);
      const evals = s.evals === 'compute' ? this.evals.result(s.histogramBins) : s.evals === 'skip' ? null : s.evals;
      return { features, sae: evals, timings: this.clock.timings(this.nTokens) };
    } finally {
      this.selected?.dispose();
    }
  }

  /** Pass 1 over the range only: its part of the totals (a 'statistics' shard). */
  async statisticsPart(): Promise<RangePart<ActivationTotals>> {
    try {
      this.progress.startClock();
      await this.statisticsPass();
      return { part: this.totals, timings: this.clock.timings(this.nTokens) };
    } finally {
      this.selected?.dispose();
    }
  }

  /** Pass 2 over the range only, given the totals merged over the whole corpus: its part of the samples. */
  async examplesPart(totals: ActivationTotals): Promise<RangePart<ActivationSamples>> {
    try {
      this.progress.startClock();
      const samples = this.samplesFor(totals);
      await this.examplesPass(samples);
      return { part: samples, timings: this.clock.timings(this.nTokens) };
    } finally {
      this.selected?.dispose();
    }
  }

  /** The dashboards from both passes' parts merged over the whole corpus: the weights, the ablations (a 'features' shard). */
  async mergedDashboards(totals: ActivationTotals, samples: ActivationSamples): Promise<{ features: FeatureDashboard[]; timings: DashboardTimings }> {
    try {
      const weights = await this.weights();
      this.progress.startClock();
      return { features: await this.dashboards(totals, samples, weights), timings: this.clock.timings(0) };
    } finally {
      this.selected?.dispose();
    }
  }

  private async statisticsPass(): Promise<void> {
    for (const { first, items } of this.batches()) {
      this.statisticsBatch(first, items);
      await this.progress.advance('statistics', items.length * items[0].length);
    }
  }

  private samplesFor(totals: ActivationTotals): ActivationSamples {
    return new ActivationSamples({ maxActs: totals.maxActs(), top: totals.top, random: totals.random }, partOptions(this.s).samples);
  }

  private async dashboards(totals: ActivationTotals, samples: ActivationSamples, weights: FeatureWeights[]): Promise<FeatureDashboard[]> {
    const { s } = this;
    const ablations = s.ablateTopExamples ? await this.ablateTopExamples(samples.topExamples) : undefined;
    const nTokens = s.contexts.reduce((n, context) => n + context.length, 0);
    return featureDashboards(s.features, nTokens, s.excludeBos, totals, samples, weights, ablations);
  }

  /** The batches of the run's range of the corpus, numbered by context index. */
  private *batches(): Generator<{ first: number; items: number[][] }> {
    const { first, count } = this.s.range;
    for (const batch of equalLengthBatches(this.s.contexts.slice(first, first + count), (context) => context, this.s.batchSize)) {
      yield { first: first + batch.first, items: batch.items };
    }
  }

  private async weights(): Promise<FeatureWeights[]> {
    const { model, sae, features } = this.s;
    const weights: FeatureWeights[] = [];
    const size = weightsChunkSize(model);
    // a whole SAE's logit weights over a large vocabulary take minutes: say so from the start, then per chunk
    await this.progress.weights(0, features.length);
    for (let start = 0; start < features.length; start += size) {
      const chunk = features.slice(start, start + size);
      weights.push(...this.clock.time('weights', () => featureWeights(model, sae, chunk, this.s)));
      await this.progress.weights(start + chunk.length, features.length);
    }
    return weights;
  }

  /** Pass 1 over one batch of equal-length contexts. */
  private statisticsBatch(first: number, ids: number[][]): void {
    const { model, sae } = this.s;
    if (this.s.evals !== 'compute') {
      // only the features' own statistics are needed
      const x = this.hookActivations(first, ids);
      try {
        tf.tidy(() => {
          const acts = this.clock.time('sae', () => sae.encode(flatten(x)));
          this.clock.time('bookkeeping', () => this.addTotals(first, ids, this.columns(acts)));
        });
      } finally {
        x.dispose();
      }
      return;
    }
    evalBatch(model, sae, ids, this.evals, this.time, (x, acts, clean) => {
      this.s.hookCache?.put(first, x);
      this.addTotals(first, ids, this.columns(acts));
      if (this.s.ablateTopExamples) this.keepCleanLosses(ids.map((_, b) => first + b), clean);
    });
  }

  /** Pass 2: the mean-ablated loss, and the activations re-encoded for histograms and examples. */
  private async examplesPass(samples: ActivationSamples): Promise<void> {
    if (this.s.evals !== 'compute') {
      for (const { first, items } of this.batches()) {
        const x = this.hookActivations(first, items);
        try {
          tf.tidy(() => {
            const acts = this.clock.time('sae', () => this.s.sae.encode(flatten(x)));
            this.clock.time('bookkeeping', () => samples.add(first, items, this.columns(acts).dataSync() as Float32Array));
          });
        } finally {
          x.dispose();
        }
        await this.progress.advance('examples', items.length * items[0].length);
      }
      return;
    }
    const mean = tf.tensor1d(this.evals.meanActivation());
    try {
      for (const { first, items } of this.batches()) {
        this.examplesBatch(first, items, mean, samples);
        await this.progress.advance('examples', items.length * items[0].length);
      }
    } finally {
      mean.dispose();
    }
  }

  private examplesBatch(first: number, ids: number[][], mean: tf.Tensor1D, samples: ActivationSamples): void {
    meanAblatedBatch(this.s.model, this.s.sae, ids, mean, this.evals, this.time, (x) => {
      const acts = this.clock.time('sae', () => this.s.sae.encode(flatten(x)));
      this.clock.time('bookkeeping', () => samples.add(first, ids, this.columns(acts).dataSync() as Float32Array));
    });
  }

  /**
   * Pass 1's per-feature bookkeeping of a batch: activation sums and BOS firings over every token, and each context's
   * maximum (and its position) over the tokens that may be examples — with excludeBos, BOS activations count as 0.
   */
  private addTotals(first: number, ids: number[][], featureActs: tf.Tensor2D): void {
    const [batch, seqLen] = [ids.length, ids[0].length];
    tf.tidy(() => {
      const bos = tf.tensor2d(ids.flatMap((row) => row.map((id) => (id === this.bosId ? 1 : 0))), [batch * seqLen, 1]);
      const ranked = this.s.excludeBos ? tf.mul(featureActs, tf.sub(1, bos)) : featureActs;
      const perContext = tf.reshape(ranked, [batch, seqLen, featureActs.shape[1]]);
      const fires = tf.cast(tf.greater(featureActs, 0), 'float32');
      this.totals.add(
        first,
        tf.max(perContext, 1).dataSync() as Float32Array,
        tf.argMax(perContext, 1).dataSync() as Int32Array,
        tf.sum(fires, 0).dataSync() as Float32Array,
        tf.sum(featureActs, 0).dataSync() as Float32Array,
        tf.sum(tf.mul(fires, bos), 0).dataSync() as Float32Array,
      );
    });
  }

  /**
   * A batch's hook activations: from the cache when an earlier pass left them there, else the model up to the hook
   * (leaving them in the cache for the next pass).
   */
  private hookActivations(first: number, ids: number[][]): tf.Tensor3D {
    const cached = this.s.hookCache?.get(first, ids.length);
    if (cached) return cached;
    const { cache } = this.clock.time('model', () => this.s.model.forward(ids, { capture: [this.hook], stopAt: this.hook }));
    const act = cache.get(this.hook)!;
    const x = tokenVectors(act);
    if (x !== act) act.dispose(); // the reshape keeps the data
    this.s.hookCache?.put(first, x);
    return x;
  }

  /** Records the clean losses [batch·(T−1)] of a batch of equal-length contexts, by context index. */
  private keepCleanLosses(contextIndices: number[], losses: Float32Array): void {
    const predicted = losses.length / contextIndices.length;
    contextIndices.forEach((c, b) => (this.cleanLosses[c] = losses.slice(b * predicted, (b + 1) * predicted)));
  }

  /** The computed features' columns of the activations [n, d_sae]. */
  private columns(acts: tf.Tensor2D): tf.Tensor2D {
    return this.selected ? tf.gather(acts, this.selected, 1) : acts;
  }

  /** Pass 3: every top example re-run with its feature ablated; per feature, one entry per top example. */
  private async ablateTopExamples(topExamples: ActivationExample[][]): Promise<ExampleAblation[][]> {
    const { model, sae, features, batchSize } = this.s;
    const rows = features.flatMap((feature, f) => topExamples[f].map((example, rank) => ({ feature, f, rank, example })));
    // without the evals' clean pass, the clean losses of the top examples' contexts (each once, in corpus order)
    const unmeasured = [...new Set(rows.map((row) => row.example.contextIndex))]
      .filter((c) => !this.cleanLosses[c])
      .sort((a, b) => a - b);
    const tokens = (indices: number[]) => indices.reduce((n, c) => n + this.s.contexts[c].length, 0);
    this.progress.total = this.passTokens + tokens(unmeasured) + rows.reduce((n, row) => n + row.example.tokens.length, 0);
    for (const { items } of equalLengthBatches(unmeasured, (c) => this.s.contexts[c], batchSize)) {
      const ids = items.map((c) => this.s.contexts[c]);
      const clean = this.clock.time('model', () => lossesWithHooks(model, ids, {}));
      this.keepCleanLosses(items, clean);
      await this.progress.advance('ablation', tokens(items));
    }
    const ablations = topExamples.map((list) => new Array<ExampleAblation>(list.length));
    for (const { items } of equalLengthBatches(rows, (row) => row.example.tokens, batchSize)) {
      const losses = this.clock.time('model', () => ablatedLosses(model, sae, items));
      const predicted = items[0].example.tokens.length - 1;
      items.forEach(({ f, rank, example: { contextIndex } }, b) => {
        const clean = this.cleanLosses[contextIndex];
        const lossDelta = losses.slice(b * predicted, (b + 1) * predicted).map((loss, t) => loss - clean[t]);
        ablations[f][rank] = { contextIndex, lossDelta };
      });
      await this.progress.advance('ablation', items.length * (predicted + 1));
    }
    return ablations;
  }
}

function settings(options: DashboardOptions & { range?: ContextRange }): Settings {
  const { sae, contexts } = options;
  if (contexts.length === 0) throw new InputError('no contexts to compute dashboards over');
  const range = options.range ?? { first: 0, count: contexts.length };
  if (!(Number.isInteger(range.first) && Number.isInteger(range.count) && range.first >= 0 && range.count > 0 && range.first + range.count <= contexts.length)) {
    throw new InputError(`contexts ${range.first}..${range.first + range.count - 1} are not a range of the corpus's ${contexts.length} contexts`);
  }
  const empty = contexts.findIndex((context) => context.length === 0);
  if (empty >= 0) throw new InputError(`context ${empty} has no tokens`);
  const features = options.features ?? Array.from({ length: sae.dSae }, (_, f) => f);
  for (const f of features) {
    if (!Number.isInteger(f) || f < 0 || f >= sae.dSae) throw new InputError(`feature ${f} is out of range: the SAE has features 0..${sae.dSae - 1}`);
  }
  if (new Set(features).size !== features.length) throw new InputError('features lists a feature more than once');
  if (typeof options.evals === 'object' && options.evals.firingCounts.length !== sae.dSae) throw new InputError(`the reused evals cover ${options.evals.firingCounts.length} features, the SAE has ${sae.dSae}`);
  const count = (name: keyof DashboardOptions, fallback: number, min = 1): number => {
    const value = (options[name] as number | undefined) ?? fallback;
    if (!Number.isInteger(value) || value < min) throw new InputError(`${name} must be an integer ≥ ${min}, got ${value}`);
    return value;
  };
  return {
    model: options.model,
    sae,
    contexts,
    features,
    batchSize: count('batchSize', 8),
    topK: count('topK', TOP_K),
    intervals: count('intervals', INTERVALS),
    examplesPerInterval: count('examplesPerInterval', EXAMPLES_PER_INTERVAL, 0),
    randomExamples: count('randomExamples', 10, 0),
    excludeBos: options.excludeBos ?? true,
    histogramBins: count('histogramBins', HISTOGRAM_BINS),
    logitWeightCount: count('logitWeightCount', 10),
    foldLn: options.foldLn ?? true,
    ablateTopExamples: options.ablateTopExamples ?? false,
    seed: count('seed', 0, 0),
    evals: options.evals ?? 'compute',
    hookCache: options.hookCache,
    range,
  };
}

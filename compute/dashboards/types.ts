/**
 * What the dashboard computation produces: per-feature dashboards and whole-SAE evals. Plain data (numbers,
 * arrays, Float32Arrays), so the storing layer can serialise it without TensorFlow.js.
 */

/** Equal-width bins: counts[i] is the number of values in [edges[i], edges[i+1]), the last bin closed. */
export interface Histogram {
  edges: number[];
  counts: number[];
  /** the bar centres an imported histogram was given (rounded as the source rounded them), written back by an export */
  centres?: number[];
}

/** A context shown on a feature page: the whole context, with the feature's activation at every token. */
export interface ActivationExample {
  /** index into the `contexts` the dashboards were computed on */
  contextIndex: number;
  tokens: number[];
  /** the feature's activation at each token */
  acts: Float32Array;
  maxAct: number;
  maxPos: number;
}

/** An interval example is drawn for one token whose activation lies in the interval. */
export interface IntervalExample extends ActivationExample {
  /** the drawn token */
  position: number;
  /** its activation, within the interval */
  act: number;
}

/**
 * SAEDashboard's quantile intervals: [0, max] split into equal-width intervals, each with a few random tokens
 * whose (non-zero) activation lies in it.
 */
export interface ActivationInterval {
  lo: number;
  hi: number;
  /** non-zero activations in [lo, hi) (the last interval includes hi) */
  count: number;
  examples: IntervalExample[];
}

export interface TokenWeight {
  id: number;
  value: number;
}

/** The loss change in one top example when the feature is ablated at every position (docs/compute.md#examples). */
export interface ExampleAblation {
  contextIndex: number;
  /** [t] = ablated − clean loss of predicting token t+1, t = 0..T−2 */
  lossDelta: Float32Array;
}

export interface FeatureDashboard {
  index: number;
  /** N: the tokens the activation statistics were measured over */
  nTokens: number;
  /** tokens where the feature fired, BOS included (with excludeBos too: density counts every token) */
  nonzeroCount: number;
  /** of nonzeroCount, the firings at BOS tokens */
  bosCount: number;
  /** BOS tokens were left out of the examples, maxAct and the histogram */
  bosExcluded: boolean;
  /** nonzeroCount / nTokens */
  density: number;
  /** the largest activation; with excludeBos, over the tokens other than BOS (as the examples and histogram) */
  maxAct: number;
  /** mean over the tokens where the feature fires (0 for a feature that never fired) */
  meanAct: number;
  /** mean over all nTokens tokens */
  meanActAll: number;
  /** non-zero activations over [0, maxAct]; empty for a feature that never fired */
  histogram: Histogram;
  /** the contexts with the largest maximum activation, largest first (ties: earlier context first) */
  topExamples: ActivationExample[];
  /** a uniform sample of the contexts where the feature fires (bottom-k on a seeded hash: compute/dashboards/features.ts), in corpus order */
  randomExamples: ActivationExample[];
  intervals: ActivationInterval[];
  /** W_dec[f]·W_U (through the MLP's output weights for an mlp.hook_post SAE), largest first / smallest first */
  logitWeights: { top: TokenWeight[]; bottom: TokenWeight[] };
  /** whether the logit weights have the final norm folded into W_U (TransformerLens fold_ln) or are raw W_dec·W_U */
  logitFoldLn: boolean;
  /** all vocabulary entries of W_dec[f]·W_U over [min, max] */
  logitHistogram: Histogram;
  /** b_enc[f] (b_gate[f] for a gated SAE) */
  encoderBias: number;
  /** ‖W_enc[:, f]‖ */
  encoderNorm: number;
  /** ‖W_dec[f]‖ */
  decoderNorm: number;
  /** D/E projection: W_enc[:, f]·W_dec[f] */
  deDot: number;
  deCos: number;
  /** one entry per top example, in the same order; present when ablateTopExamples was asked for */
  topExampleAblation?: ExampleAblation[];
}

/** Reconstruction and loss metrics over a set of tokens (the whole corpus, or one position). */
export interface EvalMetrics {
  /** tokens that L0, MSE and variance explained average over */
  nTokens: number;
  /** mean number of features firing per token */
  l0: number;
  /** squared reconstruction error per element: Σ‖x − x̂‖² / (nTokens·d_in) */
  mse: number;
  /** 1 − Σ‖x − x̂‖² / Σ‖x − mean x‖², centred on the corpus mean (null when there is no variance) */
  varianceExplained: number | null;
  /** Σ‖x − mean x‖² (corpus mean), the denominator above: positions re-aggregate as 1 − Σ(1 − ve)·css / Σ css */
  centredSumOfSquares: number;
  /** next-token predictions the CE losses average over (the last token of a context predicts nothing) */
  nPredictions: number;
  /** mean next-token cross-entropy of the model as is */
  ceClean: number | null;
  /** ... with the SAE reconstruction x̂ spliced in at the hook */
  ceSpliced: number | null;
  /** ... with the hook replaced at every position by its mean over all corpus tokens (every position, BOS included) */
  ceAblated: number | null;
  /** (ceAblated − ceSpliced) / (ceAblated − ceClean): CE loss recovered against mean ablation */
  ceRecovered: number | null;
  /** ... with the hook set to zero at every position (absent from runs before it was measured) */
  ceZeroAblated?: number | null;
  /** (ceZeroAblated − ceSpliced) / (ceZeroAblated − ceClean): SAELens's ce_loss_score (zero ablation) */
  ceRecoveredZero?: number | null;
}

export interface PositionMetrics extends EvalMetrics {
  /** token position in the context (0 is the BOS position when contexts start with BOS) */
  position: number;
}

export interface SaeEvals extends EvalMetrics {
  /** how the hook is ablated for ceAblated: replaced at every position by its mean over all corpus tokens */
  ablation: 'mean';
  /** the tokens the mean-ablation value averages over */
  meanOver: 'all corpus tokens, BOS included';
  nFeatures: number;
  /** fraction of features that never fired in nTokens tokens */
  deadFraction: number;
  /** fraction of features that fired, but at a density below ultraRareDensity */
  ultraRareFraction: number;
  ultraRareDensity: number;
  /** per feature, the number of tokens (out of nTokens) where it fired */
  firingCounts: number[];
  /** log10 density of the features that fired, over [floor(log10(1/nTokens)), 0]; `dead` counts the rest */
  densityHistogram: Histogram & { dead: number };
  /** the metrics at each token position 0..longest context − 1 */
  byPosition: PositionMetrics[];
}

/** the dashboards' phases, and the passes of the evals over a range of the corpus (eval-passes.ts) */
export type DashboardPhase = 'weights' | 'statistics' | 'examples' | 'ablation' | 'evals' | 'mean-ablation';

/**
 * Token positions run through the model, summed over the passes: each corpus token counts once in 'statistics'
 * and once in 'examples', and each top example's tokens once in 'ablation' (an eval range's tokens once in its
 * pass). 'weights' runs no tokens: it counts features instead, and its ETA is that of the weights.
 */
export interface DashboardProgress {
  phase: DashboardPhase;
  tokensDone: number;
  tokensTotal: number;
  tokensPerSecond: number;
  /** null until a batch has been timed */
  etaSeconds: number | null;
  /** in the 'weights' phase: the features whose weights are done, of all the run computes */
  features?: { done: number; total: number; perSecond: number };
}

/** Where the time went, for benchmarks: wall-clock seconds of the synchronous work in each part. */
export interface DashboardTimings {
  /** model forward passes and next-token losses */
  modelSeconds: number;
  /** SAE encode (and decode, for the evals) */
  saeSeconds: number;
  /** per-feature statistics, examples, histograms and eval sums */
  bookkeepingSeconds: number;
  /** logit weights and encoder/decoder statistics */
  weightsSeconds: number;
  totalSeconds: number;
  /** corpus tokens / totalSeconds */
  tokensPerSecond: number;
}

export interface DashboardResult<Evals extends SaeEvals | null = SaeEvals> {
  /** in the order of the `features` asked for */
  features: FeatureDashboard[];
  /** computed or reused; null when skipped */
  sae: Evals;
  timings: DashboardTimings;
}

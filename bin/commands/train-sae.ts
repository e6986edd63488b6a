import path from 'node:path';
import { initBackend } from '../../compute/backend';
import { buildCorpus } from '../../compute/corpus/build';
import { loadModel } from '../../compute/model/load';
import { LR_SCHEDULES } from '../../compute/sae/lr-schedule';
import { writeSaeLensDirectory } from '../../compute/sae/save';
import { describeTokenUse } from '../../compute/sae/token-use';
import type { TrainableArchitecture } from '../../compute/sae/train';
import { trainSaeAtHook, type TrainSaeAtHookOptions } from '../../compute/sae/train-at-hook';
import { choice, integer, number, optionalInteger, requiredString, type Command } from '../args';
import { progressBar } from '../progress';

const ARCHITECTURES: readonly TrainableArchitecture[] = ['standard', 'topk'];

/** `lexicon train-sae`: train an SAE on a model's activations and write it as a SAELens directory. */
export const trainSae: Command = {
  name: 'train-sae',
  usage:
    '--model DIR --hook NAME --out DIR [--d-sae 256] [--architecture standard|topk] [--k 16] [--l1 1.0] [--lr 0.003] ' +
    '[--lr-schedule constant|cosineannealing] [--lr-warmup-steps 0] [--lr-decay-steps 0] [--lr-end LR/10] ' +
    '[--batch-size 512] [--epochs 10 | --steps N] [--tokens 100000] [--context 256] [--seed 1] [--corpus FILE] [--json]',
  summary:
    "train an SAE (standard or TopK) on the model's activations at a hook, over a corpus file (text or JSONL) or " +
    'stories sampled from the model, and write it as a SAELens directory; says how many of the tokens it trained on when not all',
  options: {
    model: { type: 'string' },
    hook: { type: 'string' },
    out: { type: 'string' },
    'd-sae': { type: 'string' },
    architecture: { type: 'string' },
    k: { type: 'string' },
    l1: { type: 'string' },
    lr: { type: 'string' },
    'lr-schedule': { type: 'string' },
    'lr-warmup-steps': { type: 'string' },
    'lr-decay-steps': { type: 'string' },
    'lr-end': { type: 'string' },
    'batch-size': { type: 'string' },
    epochs: { type: 'string' },
    steps: { type: 'string' },
    tokens: { type: 'string' },
    context: { type: 'string' },
    seed: { type: 'string' },
    corpus: { type: 'string' },
    json: { type: 'boolean' },
  },
  async run(values) {
    const architecture = choice(values, 'architecture', ARCHITECTURES, 'standard');
    const seed = integer(values, 'seed', 1);
    await trainSaeFromCommandLine({
      modelDir: requiredString(values, 'model'),
      outDir: requiredString(values, 'out'),
      tokens: integer(values, 'tokens', 100_000),
      contextSize: integer(values, 'context', 256),
      corpusFile: values.corpus as string | undefined,
      json: values.json === true,
      training: {
        hookName: requiredString(values, 'hook'),
        dSae: integer(values, 'd-sae', 256),
        architecture,
        k: integer(values, 'k', 16),
        l1Coefficient: number(values, 'l1') ?? 1,
        lr: number(values, 'lr') ?? 3e-3,
        lrSchedule: choice(values, 'lr-schedule', LR_SCHEDULES, 'constant'),
        lrWarmupSteps: optionalInteger(values, 'lr-warmup-steps'),
        lrDecaySteps: optionalInteger(values, 'lr-decay-steps'),
        lrEnd: number(values, 'lr-end'),
        batchSize: optionalInteger(values, 'batch-size'),
        epochs: integer(values, 'epochs', 10),
        steps: optionalInteger(values, 'steps'),
        seed,
      },
    });
  },
};

interface TrainSaeArgs {
  modelDir: string;
  outDir: string;
  /** at most this many corpus tokens (whole contexts) */
  tokens: number;
  contextSize: number;
  /** without one, the corpus is sampled from the model */
  corpusFile?: string;
  json: boolean;
  training: Omit<TrainSaeAtHookOptions, 'onProgress' | 'onActivationProgress'> & { architecture: TrainableArchitecture; seed: number };
}

/** Builds the corpus, collects activations, trains, writes the SAELens directory and reports, with progress on stderr. */
async function trainSaeFromCommandLine(args: TrainSaeArgs): Promise<void> {
  const { training } = args;
  const started = performance.now();
  const backend = await initBackend();
  const model = await loadModel(path.resolve(args.modelDir));
  try {
    const sampling = progressBar('sampling corpus');
    const corpus = await buildCorpus(model, {
      file: args.corpusFile && path.resolve(args.corpusFile),
      contextSize: args.contextSize,
      prependBos: true,
      maxTokens: args.tokens,
      seed: training.seed,
      onSampleProgress: ({ tokens }) => sampling.update(Math.min(tokens, args.tokens), args.tokens, 'tokens'),
    });
    const nTokens = corpus.contexts.length * args.contextSize;
    if (!args.corpusFile) sampling.finish(`${nTokens} tokens`);

    const collecting = progressBar('activations');
    const trainingBar = progressBar('training');
    const result = await trainSaeAtHook(model, corpus.contexts, {
      ...training,
      onActivationProgress: (done, total) => {
        collecting.update(done, total, 'contexts');
        if (done === total) collecting.finish(`${nTokens} tokens at ${training.hookName}`);
      },
      onProgress: (p) =>
        trainingBar.update(
          p.step,
          p.steps,
          `loss ${p.loss.toFixed(3)}  L0 ${p.l0.toFixed(1)}  var.expl. ${p.varianceExplained.toFixed(3)}  dead ${(100 * p.deadFraction).toFixed(1)}%  lr ${p.lr.toPrecision(3)}`,
        ),
    });
    const { metrics } = result;
    trainingBar.finish(`${result.steps} steps × ${result.batchSize} tokens, ${result.resampled} features resampled`);
    const tokenUse = {
      corpusTokens: corpus.availableTokens,
      selectedTokens: nTokens,
      tokensUsed: result.tokensUsed,
      steps: result.steps,
      batchSize: result.batchSize,
    };
    const note = describeTokenUse(tokenUse, `--tokens ${args.tokens}`);

    await writeSaeLensDirectory(
      args.outDir,
      result.weights,
      {
        architecture: training.architecture,
        ...(training.architecture === 'topk' && { k: training.k }),
        modelName: path.basename(path.resolve(args.modelDir)),
        hookName: training.hookName,
        prependBos: true,
        contextSize: args.contextSize,
        datasetPath: corpus.source,
      },
      metrics.featureDensity,
    );

    const summary = {
      out: path.resolve(args.outDir),
      architecture: training.architecture,
      hook: training.hookName,
      dIn: result.dIn,
      dSae: training.dSae,
      ...(training.architecture === 'topk' && { k: training.k }),
      corpus: { source: corpus.source, hash: corpus.hash, contexts: corpus.contexts.length, tokens: nTokens, availableTokens: corpus.availableTokens },
      steps: result.steps,
      batchSize: result.batchSize,
      tokensUsed: result.tokensUsed,
      ...(note && { note }),
      resampled: result.resampled,
      // measured after training on all the training tokens
      metrics: {
        nTokens: metrics.nTokens,
        mse: metrics.mse,
        l0: metrics.l0,
        varianceExplained: metrics.varianceExplained,
        deadFraction: metrics.deadFraction,
      },
      backend,
      seconds: (performance.now() - started) / 1000,
    };
    if (args.json) {
      console.log(JSON.stringify(summary));
    } else {
      console.log(`wrote ${summary.out}`);
      if (note) console.log(note);
      console.log(
        `on ${metrics.nTokens} training tokens: variance explained ${metrics.varianceExplained.toFixed(3)}, L0 ${metrics.l0.toFixed(2)}, ` +
          `MSE ${metrics.mse.toFixed(4)}, dead ${(100 * metrics.deadFraction).toFixed(1)}% (never fired in ${metrics.nTokens} tokens)`,
      );
    }
  } finally {
    model.dispose();
  }
}

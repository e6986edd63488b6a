import path from 'node:path';
import { initBackend } from '../compute/backend';
import { buildCorpus } from '../compute/corpus/build';
import { loadModel } from '../compute/model/load';
import { writeSaeLensDirectory } from '../compute/sae/save';
import { trainSaeAtHook } from '../compute/sae/train-at-hook';
import type { TrainableArchitecture } from '../compute/sae/train';
import { integer, number, requiredString, UsageError, type Command } from './args';
import { progressBar } from './progress';

/** `lexicon train-sae`: train an SAE on a model's activations and write it as a SAELens directory. */
export const trainSaeCommand: Command = {
  usage:
    '--model DIR --hook NAME --out DIR [--d-sae 256] [--architecture standard|topk] [--k 16] [--l1 1.0] [--lr 0.003] ' +
    '[--epochs 10] [--tokens 100000] [--context 256] [--seed 1] [--corpus FILE] [--json]',
  summary:
    "train an SAE (standard or TopK) on the model's activations at a hook, over a corpus file (text or JSONL) or " +
    'stories sampled from the model, and write it as a SAELens directory',
  options: {
    model: { type: 'string' },
    hook: { type: 'string' },
    out: { type: 'string' },
    'd-sae': { type: 'string' },
    architecture: { type: 'string' },
    k: { type: 'string' },
    l1: { type: 'string' },
    lr: { type: 'string' },
    epochs: { type: 'string' },
    tokens: { type: 'string' },
    context: { type: 'string' },
    seed: { type: 'string' },
    corpus: { type: 'string' },
    json: { type: 'boolean' },
  },
  async run(values) {
    const architecture = values.architecture ?? 'standard';
    if (architecture !== 'standard' && architecture !== 'topk') {
      throw new UsageError(`--architecture must be standard or topk, got "${architecture}"`);
    }
    await trainSaeFromCommandLine({
      modelDir: requiredString(values, 'model'),
      hookName: requiredString(values, 'hook'),
      outDir: requiredString(values, 'out'),
      dSae: integer(values, 'd-sae', 256),
      architecture,
      k: integer(values, 'k', 16),
      l1: number(values, 'l1') ?? 1,
      lr: number(values, 'lr') ?? 3e-3,
      epochs: integer(values, 'epochs', 10),
      tokens: integer(values, 'tokens', 100_000),
      contextSize: integer(values, 'context', 256),
      seed: integer(values, 'seed', 1),
      corpusFile: values.corpus as string | undefined,
      json: values.json === true,
    });
  },
};

interface TrainSaeArgs {
  modelDir: string;
  hookName: string;
  outDir: string;
  dSae: number;
  architecture: TrainableArchitecture;
  k: number;
  l1: number;
  lr: number;
  epochs: number;
  tokens: number;
  contextSize: number;
  seed: number;
  /** without one, the corpus is sampled from the model */
  corpusFile?: string;
  json: boolean;
}

/** Builds the corpus, collects activations, trains, writes the SAELens directory and reports, with progress on stderr. */
async function trainSaeFromCommandLine(args: TrainSaeArgs): Promise<void> {
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
      seed: args.seed,
      onSampleProgress: ({ tokens }) => sampling.update(Math.min(tokens, args.tokens), args.tokens, 'tokens'),
    });
    const nTokens = corpus.contexts.length * args.contextSize;
    if (!args.corpusFile) sampling.finish(`${nTokens} tokens`);

    const collecting = progressBar('activations');
    const training = progressBar('training');
    const result = await trainSaeAtHook(model, corpus.contexts, {
      hookName: args.hookName,
      dSae: args.dSae,
      architecture: args.architecture,
      k: args.k,
      l1Coefficient: args.l1,
      lr: args.lr,
      epochs: args.epochs,
      seed: args.seed,
      onActivationProgress: (done, total) => {
        collecting.update(done, total, 'contexts');
        if (done === total) collecting.finish(`${nTokens} tokens at ${args.hookName}`);
      },
      onProgress: (p) =>
        training.update(
          p.step,
          p.steps,
          `loss ${p.loss.toFixed(3)}  L0 ${p.l0.toFixed(1)}  var.expl. ${p.varianceExplained.toFixed(3)}  dead ${(100 * p.deadFraction).toFixed(1)}%`,
        ),
    });
    const { metrics } = result;
    training.finish(`${result.steps} steps, ${result.resampled} features resampled`);

    await writeSaeLensDirectory(
      args.outDir,
      result.weights,
      {
        architecture: args.architecture,
        ...(args.architecture === 'topk' && { k: args.k }),
        modelName: path.basename(path.resolve(args.modelDir)),
        hookName: args.hookName,
        prependBos: true,
        contextSize: args.contextSize,
        datasetPath: corpus.source,
      },
      metrics.featureDensity,
    );

    const summary = {
      out: path.resolve(args.outDir),
      architecture: args.architecture,
      hook: args.hookName,
      dIn: result.dIn,
      dSae: args.dSae,
      ...(args.architecture === 'topk' && { k: args.k }),
      corpus: { source: corpus.source, hash: corpus.hash, contexts: corpus.contexts.length, tokens: nTokens },
      steps: result.steps,
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
      console.log(
        `on ${metrics.nTokens} training tokens: variance explained ${metrics.varianceExplained.toFixed(3)}, L0 ${metrics.l0.toFixed(2)}, ` +
          `MSE ${metrics.mse.toFixed(4)}, dead ${(100 * metrics.deadFraction).toFixed(1)}% (never fired in ${metrics.nTokens} tokens)`,
      );
    }
  } finally {
    model.dispose();
  }
}

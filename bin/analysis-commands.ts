import path from 'node:path';
import { ablateFeature, type AblationMode } from '../compute/analyses/ablate';
import { featureActivations } from '../compute/analyses/activations';
import { checkSaeForModel } from '../compute/analyses/common';
import { directFeatureAttribution } from '../compute/analyses/dfa';
import { COMPOSE_MODES, type Compose, type ComposedDirection, type FeatureDirection } from '../compute/analyses/direction';
import { featureStats } from '../compute/analyses/feature-stats';
import { logitWeights } from '../compute/analyses/logit-weights';
import { prepareInput } from '../compute/analyses/predict';
import { steer } from '../compute/analyses/steer';
import { initBackend } from '../compute/backend';
import { InputError } from '../compute/errors';
import { loadModel } from '../compute/model/load';
import type { LanguageModel } from '../compute/model/types';
import { loadSae } from '../compute/sae/load';
import type { Sae } from '../compute/sae/sae';
import { describeFoldLn, FOLD_LN_OPTIONS, foldLn, integer, integerList, number, PROMPT_OPTIONS, promptInput, requiredString, UsageError, type Command, type Options, type Values } from './args';

/** The SAE analyses as `lexicon` commands (compute/analyses/*): each loads a model and an SAE from their directories. */

const MODEL_AND_SAE: Options = {
  model: { type: 'string' },
  sae: { type: 'string' },
  json: { type: 'boolean' },
};
const DIRECTION_OPTIONS: Options = {
  feature: { type: 'string' },
  features: { type: 'string' },
  compose: { type: 'string' },
};
const PROMPT_USAGE = '(--text TEXT | --token-ids 1,2,3)';
const DIRECTION_USAGE = '(--feature F | --features 3,17 --compose mean|sum)';

export const analysisCommands: Record<string, Command> = {
  activations: {
    usage: `--model DIR --sae DIR ${PROMPT_USAGE} [--features 3,17 [--compose mean|sum]] [--top-k 5] [--json]`,
    summary: "the SAE's feature activations at every token: the most active features, the listed ones, and with --compose their combined probe",
    options: { ...MODEL_AND_SAE, ...PROMPT_OPTIONS, features: { type: 'string' }, compose: { type: 'string' }, 'top-k': { type: 'string' } },
    async run(values) {
      const input = promptInput(values);
      const features = values.features === undefined ? [] : integerList(values.features as string, 'features');
      const composed: ComposedDirection | undefined = values.compose === undefined ? undefined : { features, compose: composeMode(values) };
      if (composed && features.length === 0) throw new UsageError('--compose needs --features to combine');
      const topK = integer(values, 'top-k', 5);
      await withModelAndSae(values, (model, sae) => {
        const result = featureActivations(model, sae, prepareInput(model, input), { features, topK, composed });
        print(values, result, () =>
          result.pieces
            .map((piece, t) => {
              const listed = features.map((f) => `${f}=${fixed(result.features[f][t])}`);
              const probe = result.composed ? [`${result.composed.compose}=${fixed(result.composed.pre[t])}`] : [];
              const top = result.top[t].map(({ feature, act }) => `${feature}:${fixed(act)}`);
              return [String(t).padStart(4), JSON.stringify(piece).padEnd(14), ...listed, ...probe, ' top', ...top].join(' ');
            })
            .join('\n'),
        );
      });
    },
  },

  'logit-weights': {
    usage: `--model DIR --sae DIR ${DIRECTION_USAGE} [--k 10] [--fold-ln | --no-fold-ln] [--json]`,
    summary:
      'the tokens whose logits a feature (or a composed direction) raises and lowers most on the direct path: W_dec[f]·W_U, ' +
      'with the final norm folded into W_U as TransformerLens fold_ln (the default, as Neuronpedia shows them) or raw (--no-fold-ln)',
    options: { ...MODEL_AND_SAE, ...DIRECTION_OPTIONS, ...FOLD_LN_OPTIONS, k: { type: 'string' } },
    async run(values) {
      const direction = featureDirection(values);
      const k = integer(values, 'k', 10);
      const folded = foldLn(values);
      await withModelAndSae(values, (model, sae) => {
        const result = { foldLn: folded, ...logitWeights(model, sae, direction, k, { foldLn: folded }) };
        print(values, result, () =>
          [
            `logit weights: ${describeFoldLn(folded)}`,
            ...result.top.map((up, i) => {
              const down = result.bottom[i];
              return `${JSON.stringify(up.piece).padEnd(16)} ${fixed(up.value).padStart(9)}    ${JSON.stringify(down.piece).padEnd(16)} ${fixed(down.value).padStart(9)}`;
            }),
          ].join('\n'),
        );
      });
    },
  },

  dfa: {
    usage: `--model DIR --sae DIR --feature F ${PROMPT_USAGE} [--position T] [--json]`,
    summary: "a hook_z SAE feature's direct feature attribution: each source token's share of its pre-activation at position T (default: its peak)",
    options: { ...MODEL_AND_SAE, ...PROMPT_OPTIONS, feature: { type: 'string' }, position: { type: 'string' } },
    async run(values) {
      const input = promptInput(values);
      const feature = featureIndex(values);
      const position = values.position === undefined ? undefined : integer(values, 'position', 0);
      await withModelAndSae(values, (model, sae) => {
        const result = directFeatureAttribution(model, sae, prepareInput(model, input), feature, position);
        print(values, result, () =>
          [
            `feature ${feature} at position ${result.position} ${JSON.stringify(result.pieces[result.position])}: act ${fixed(result.act)}, pre ${fixed(result.pre)} = Σ sources + bias ${fixed(result.bias)}`,
            ...result.sources.map((value, s) => `${String(s).padStart(4)}  ${JSON.stringify(result.pieces[s]).padEnd(14)} ${fixed(value).padStart(9)}`),
          ].join('\n'),
        );
      });
    },
  },

  ablate: {
    usage: `--model DIR --sae DIR --feature F ${PROMPT_USAGE} [--positions 0,3] [--mode zero|clamp --value=V] [--top 10] [--json]`,
    summary: "removes a feature's contribution (or clamps its activation to V) at its hook and reports the change in loss, logits and KL",
    options: { ...MODEL_AND_SAE, ...PROMPT_OPTIONS, feature: { type: 'string' }, positions: { type: 'string' }, mode: { type: 'string' }, value: { type: 'string' }, top: { type: 'string' } },
    async run(values) {
      const input = promptInput(values);
      const feature = featureIndex(values);
      const positions = values.positions === undefined ? undefined : integerList(values.positions as string, 'positions');
      const mode = (values.mode ?? 'zero') as AblationMode;
      if (mode !== 'zero' && mode !== 'clamp') throw new UsageError(`--mode must be zero or clamp, got "${mode}"`);
      const value = number(values, 'value');
      if ((mode === 'clamp') !== (value !== undefined)) throw new UsageError('--value goes with --mode clamp, and only with it');
      const top = integer(values, 'top', 10);
      await withModelAndSae(values, (model, sae) => {
        const result = ablateFeature(model, sae, prepareInput(model, input), feature, { positions, mode, value, top });
        print(values, result, () => {
          const lines = [`${'pos'.padStart(4)}  ${'token'.padEnd(14)} ${'act'.padStart(8)} ${'loss'.padStart(9)} ${'ablated'.padStart(9)} ${'KL'.padStart(9)}`];
          result.tokens.forEach((id, t) => {
            const loss = (l: number | undefined) => (l === undefined ? '' : fixed(l)).padStart(9);
            lines.push(`${String(t).padStart(4)}  ${JSON.stringify(model.tokenizer.piece(id)).padEnd(14)} ${fixed(result.acts[t]).padStart(8)} ${loss(result.lossClean[t])} ${loss(result.lossAblated[t])} ${fixed(result.kl[t]).padStart(9)}`);
          });
          lines.push('', 'last position, most decreased logits: ' + result.logitDeltas.map((d) => `${JSON.stringify(d.piece)} ${fixed(d.delta)}`).join('  '));
          return lines.join('\n');
        });
      });
    },
  },

  steer: {
    usage: `--model DIR --sae DIR ${DIRECTION_USAGE} ${PROMPT_USAGE} --coefficients=-10:10:21 [--target-token ID|PIECE] [--top 5] [--json]`,
    summary: 'adds c·W_dec[f] at every position for each coefficient c (start:stop:count, or a list) and reports loss, predictions and a target logit',
    options: { ...MODEL_AND_SAE, ...PROMPT_OPTIONS, ...DIRECTION_OPTIONS, coefficients: { type: 'string' }, 'target-token': { type: 'string' }, top: { type: 'string' } },
    async run(values) {
      const input = promptInput(values);
      const direction = featureDirection(values);
      const coefficients = coefficientScan(requiredString(values, 'coefficients'));
      const top = integer(values, 'top', 5);
      await withModelAndSae(values, (model, sae) => {
        const target = values['target-token'] === undefined ? undefined : tokenId(model, values['target-token'] as string);
        const result = steer(model, sae, prepareInput(model, input), direction, { coefficients, targetToken: target, top });
        print(values, result, () =>
          result.results
            .map((r) => {
              const targetLogit = r.targetLogit === null ? '' : `  ${JSON.stringify(result.target!.piece)} logit ${fixed(r.targetLogit)}`;
              const next = r.top.map((c) => `${JSON.stringify(c.piece)} ${c.prob.toFixed(3)}`).join('  ');
              return `c=${String(r.coefficient).padStart(6)}  loss ${r.loss === null ? '-' : fixed(r.loss)}${targetLogit}  next: ${next}`;
            })
            .join('\n'),
        );
      });
    },
  },

  'feature-stats': {
    usage: '--model DIR --sae DIR [--features 3,17] [--json]',
    summary: 'per feature: encoder bias, encoder and decoder norms, and the D/E projection W_enc[:, f]·W_dec[f] (dot and cosine)',
    options: { ...MODEL_AND_SAE, features: { type: 'string' } },
    async run(values) {
      const features = values.features === undefined ? undefined : integerList(values.features as string, 'features');
      await withModelAndSae(values, (_model, sae) => {
        const result = { features: featureStats(sae, features) };
        print(values, result, () =>
          [
            ['feature', 'bias', '|enc|', '|dec|', 'D/E dot', 'D/E cos'].map((h) => h.padStart(9)).join(' '),
            ...result.features.map((s) =>
              [String(s.feature), ...[s.encoderBias, s.encoderNorm, s.decoderNorm, s.deDot, s.deCos].map(fixed)].map((v) => v.padStart(9)).join(' ')),
          ].join('\n'),
        );
      });
    },
  },
};

/** Loads the model and the SAE, checks that the SAE fits the model, runs `analyse`, and disposes both. */
async function withModelAndSae(values: Values, analyse: (model: LanguageModel, sae: Sae) => void): Promise<void> {
  const modelDir = requiredString(values, 'model');
  const saeDir = requiredString(values, 'sae');
  await initBackend();
  const model = await loadModel(path.resolve(modelDir));
  try {
    const sae = await loadSae(path.resolve(saeDir));
    try {
      checkSaeForModel(model, sae);
      analyse(model, sae);
    } finally {
      sae.dispose();
    }
  } finally {
    model.dispose();
  }
}

function print(values: Values, result: unknown, readable: () => string): void {
  console.log(values.json ? JSON.stringify(result) : readable());
}

function fixed(value: number): string {
  return value.toFixed(4);
}

function featureIndex(values: Values): number {
  const [feature, ...rest] = integerList(requiredString(values, 'feature'), 'feature');
  if (rest.length > 0) throw new UsageError('--feature takes one feature; use --features 3,17 --compose mean|sum for several');
  return feature;
}

function composeMode(values: Values): Compose {
  const compose = values.compose as string;
  if (!(COMPOSE_MODES as readonly string[]).includes(compose)) throw new UsageError(`--compose must be ${COMPOSE_MODES.join(' or ')}, got "${compose}"`);
  return compose as Compose;
}

/** --feature F, or --features 3,17 with --compose for a composed direction. */
function featureDirection(values: Values): FeatureDirection {
  if ((values.feature === undefined) === (values.features === undefined)) throw new UsageError('give exactly one of --feature and --features');
  if (values.feature !== undefined) {
    if (values.compose !== undefined) throw new UsageError('--compose combines --features, not a single --feature');
    return featureIndex(values);
  }
  if (values.compose === undefined) throw new UsageError('--features needs --compose mean|sum to combine them into one direction');
  return { features: integerList(values.features as string, 'features'), compose: composeMode(values) };
}

/** "start:stop:count" (evenly spaced, both ends included) or a comma-separated list of numbers. */
function coefficientScan(spec: string): number[] {
  const range = /^\s*([^:]+):([^:]+):(\d+)\s*$/.exec(spec);
  if (range) {
    const [start, stop, count] = [Number(range[1]), Number(range[2]), Number(range[3])];
    if (!(Number.isFinite(start) && Number.isFinite(stop) && count >= 1)) throw new UsageError(`--coefficients: bad range "${spec}" (start:stop:count)`);
    const step = count === 1 ? 0 : (stop - start) / (count - 1);
    // rounded so that -10:10:21 gives -9, not -8.999999999999998
    return Array.from({ length: count }, (_, i) => Number((start + i * step).toPrecision(12)));
  }
  const list = spec.split(',').map((part) => Number(part.trim()));
  if (list.some((c) => !Number.isFinite(c)) || spec.trim() === '') {
    throw new UsageError(`--coefficients must be start:stop:count or a comma-separated list of numbers, got "${spec}"`);
  }
  return list;
}

/** A token given by id, or by its piece as the tokenizer displays it. */
function tokenId(model: LanguageModel, spec: string): number {
  if (/^\d+$/.test(spec)) return Number(spec);
  const { tokenizer, config } = model;
  const matches: number[] = [];
  for (let id = 0; id < config.vocabSize; id++) if (tokenizer.piece(id) === spec) matches.push(id);
  if (matches.length === 0) throw new InputError(`no token's piece is ${JSON.stringify(spec)}; give the token id instead`);
  if (matches.length > 1) throw new InputError(`the piece ${JSON.stringify(spec)} belongs to tokens ${matches.join(', ')}; give the token id instead`);
  return matches[0];
}

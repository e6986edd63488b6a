import { prepareInput } from '../../compute/analyses/predict';
import { steer as steerScan } from '../../compute/analyses/steer';
import { generateSteered, type Continuation } from '../../compute/analyses/steer-generate';
import { InputError } from '../../compute/errors';
import type { LanguageModel } from '../../compute/model/types';
import { DIRECTION_OPTIONS, DIRECTION_USAGE, featureDirection, fixed, MODEL_AND_SAE, print, PROMPT_USAGE, withModelAndSae } from '../analysis';
import { integer, number, PROMPT_OPTIONS, promptInput, requiredString, UsageError, type Command, type Values } from '../args';

/** The options of a steered generation (--generate), and of a coefficient scan; neither takes the other's. */
const GENERATE_ONLY = ['strength', 'max-tokens', 'temperature', 'seed', 'normalize'];
const SCAN_ONLY = ['coefficients', 'target-token'];

export const steer: Command = {
  name: 'steer',
  usage:
    `--model DIR --sae DIR ${DIRECTION_USAGE} ${PROMPT_USAGE} (--coefficients -10:10:21 [--target-token ID|PIECE]` +
    ` | --generate --strength S [--max-tokens 32] [--temperature 0.5] [--seed 16] [--normalize]) [--top 5] [--json]`,
  summary:
    'adds c·W_dec[f] at every position for each coefficient c (start:stop:count, or a list) and reports loss, predictions and a target logit;' +
    ' with --generate, continues the text as the model would and steered by S·W_dec[f], with each token’s top log-probs',
  options: {
    ...MODEL_AND_SAE,
    ...PROMPT_OPTIONS,
    ...DIRECTION_OPTIONS,
    coefficients: { type: 'string' },
    'target-token': { type: 'string' },
    top: { type: 'string' },
    generate: { type: 'boolean' },
    strength: { type: 'string' },
    'max-tokens': { type: 'string' },
    temperature: { type: 'string' },
    seed: { type: 'string' },
    normalize: { type: 'boolean' },
  },
  async run(values) {
    const stray = (values.generate ? SCAN_ONLY : GENERATE_ONLY).find((name) => values[name] !== undefined);
    if (stray) throw new UsageError(values.generate ? `--${stray} is for a coefficient scan, not --generate` : `--${stray} goes with --generate`);
    if (values.generate) return generate(values);
    const input = promptInput(values);
    const direction = featureDirection(values);
    const coefficients = coefficientScan(requiredString(values, 'coefficients'));
    const top = integer(values, 'top', 5);
    await withModelAndSae(values, (model, sae) => {
      const target = values['target-token'] === undefined ? undefined : tokenId(model, values['target-token'] as string);
      const result = steerScan(model, sae, prepareInput(model, input), direction, { coefficients, targetToken: target, top });
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
};

/** Steered generation: the default and the steered continuation from one seed (docs/compute.md#steered-generation). */
async function generate(values: Values): Promise<void> {
  const input = promptInput(values);
  const direction = featureDirection(values);
  const strength = number(values, 'strength');
  if (strength === undefined) throw new UsageError('--generate needs --strength');
  const temperature = number(values, 'temperature') ?? 0.5;
  const options = { maxTokens: integer(values, 'max-tokens', 32), temperature, seed: integer(values, 'seed', 16), topK: integer(values, 'top', 5) };
  await withModelAndSae(values, async (model, sae) => {
    const result = await generateSteered(model, sae, prepareInput(model, input), { steering: [{ direction, strength }], normalize: values.normalize === true, ...options });
    const text = (c: Continuation) => `${JSON.stringify(c.pieces.join(''))}  (${c.tokens.length} tokens, ${c.stop}; mean log p ${fixed(c.logprobs.reduce((a, b) => a + b, 0) / (c.logprobs.length || 1))})`;
    print(values, result, () => [`default: ${text(result.default)}`, `steered: ${text(result.steered)}`, `steering vector norm ${fixed(result.steeringNorm)}`].join('\n'));
  });
}

/** "start:stop:count" (evenly spaced, both ends included) or a comma-separated list of numbers. */
export function coefficientScan(spec: string): number[] {
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

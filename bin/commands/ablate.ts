import { ABLATION_MODES, ablateFeature } from '../../compute/analyses/ablate';
import { prepareInput } from '../../compute/analyses/predict';
import { featureIndex, fixed, MODEL_AND_SAE, print, PROMPT_USAGE, withModelAndSae } from '../analysis';
import { choice, integer, integerList, number, PROMPT_OPTIONS, promptInput, UsageError, type Command } from '../args';

export const ablate: Command = {
  name: 'ablate',
  usage: `--model DIR --sae DIR --feature F ${PROMPT_USAGE} [--positions 0,3] [--mode zero|clamp --value V] [--top 10] [--json]`,
  summary: "removes a feature's contribution (or clamps its activation to V) at its hook and reports the change in loss, logits and KL",
  options: {
    ...MODEL_AND_SAE,
    ...PROMPT_OPTIONS,
    feature: { type: 'string' },
    positions: { type: 'string' },
    mode: { type: 'string' },
    value: { type: 'string' },
    top: { type: 'string' },
  },
  async run(values) {
    const input = promptInput(values);
    const feature = featureIndex(values);
    const positions = values.positions === undefined ? undefined : integerList(values.positions as string, 'positions');
    const mode = choice(values, 'mode', ABLATION_MODES, 'zero');
    const value = number(values, 'value');
    if ((mode === 'clamp') !== (value !== undefined)) throw new UsageError('--value goes with --mode clamp, and only with it');
    const top = integer(values, 'top', 10);
    await withModelAndSae(values, (model, sae) => {
      const result = ablateFeature(model, sae, prepareInput(model, input), feature, { positions, mode, value, top });
      print(values, result, () => {
        const lines = [`${'pos'.padStart(4)}  ${'token'.padEnd(14)} ${'act'.padStart(8)} ${'loss'.padStart(9)} ${'ablated'.padStart(9)} ${'KL'.padStart(9)}`];
        result.tokens.forEach((id, t) => {
          const loss = (l: number | undefined) => (l === undefined ? '' : fixed(l)).padStart(9);
          lines.push(
            `${String(t).padStart(4)}  ${JSON.stringify(model.tokenizer.piece(id)).padEnd(14)} ${fixed(result.acts[t]).padStart(8)} ` +
              `${loss(result.lossClean[t])} ${loss(result.lossAblated[t])} ${fixed(result.kl[t]).padStart(9)}`,
          );
        });
        lines.push('', 'last position, most decreased logits: ' + result.logitDeltas.map((d) => `${JSON.stringify(d.piece)} ${fixed(d.delta)}`).join('  '));
        return lines.join('\n');
      });
    });
  },
};

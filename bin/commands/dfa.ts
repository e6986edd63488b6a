import { directFeatureAttribution } from '../../compute/analyses/dfa';
import { prepareInput } from '../../compute/analyses/predict';
import { featureIndex, fixed, MODEL_AND_SAE, print, PROMPT_USAGE, withModelAndSae } from '../analysis';
import { integer, PROMPT_OPTIONS, promptInput, type Command } from '../args';

export const dfa: Command = {
  name: 'dfa',
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
};

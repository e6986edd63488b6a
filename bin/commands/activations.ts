import { featureActivations } from '../../compute/analyses/activations';
import type { ComposedDirection } from '../../compute/analyses/direction';
import { prepareInput } from '../../compute/analyses/predict';
import { composeMode, fixed, MODEL_AND_SAE, print, PROMPT_USAGE, withModelAndSae } from '../analysis';
import { integer, integerList, PROMPT_OPTIONS, promptInput, UsageError, type Command } from '../args';

export const activations: Command = {
  name: 'activations',
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
};

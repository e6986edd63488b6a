import { logitWeights as computeLogitWeights } from '../../compute/analyses/logit-weights';
import { DIRECTION_OPTIONS, DIRECTION_USAGE, featureDirection, fixed, MODEL_AND_SAE, print, withModelAndSae } from '../analysis';
import { describeFoldLn, FOLD_LN_OPTIONS, foldLn, integer, type Command } from '../args';

export const logitWeights: Command = {
  name: 'logit-weights',
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
      const result = { foldLn: folded, ...computeLogitWeights(model, sae, direction, k, { foldLn: folded }) };
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
};

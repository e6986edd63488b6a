import { featureStats as computeFeatureStats } from '../../compute/analyses/feature-stats';
import { fixed, MODEL_AND_SAE, print, withModelAndSae } from '../analysis';
import { integerList, type Command } from '../args';

export const featureStats: Command = {
  name: 'feature-stats',
  usage: '--model DIR --sae DIR [--features 3,17] [--json]',
  summary: 'per feature: encoder bias, encoder and decoder norms, and the D/E projection W_enc[:, f]·W_dec[f] (dot and cosine)',
  options: { ...MODEL_AND_SAE, features: { type: 'string' } },
  async run(values) {
    const features = values.features === undefined ? undefined : integerList(values.features as string, 'features');
    await withModelAndSae(values, (_model, sae) => {
      const result = { features: computeFeatureStats(sae, features) };
      print(values, result, () =>
        [
          ['feature', 'bias', '|enc|', '|dec|', 'D/E dot', 'D/E cos'].map((h) => h.padStart(9)).join(' '),
          ...result.features.map((s) =>
            [String(s.feature), ...[s.encoderBias, s.encoderNorm, s.decoderNorm, s.deDot, s.deCos].map(fixed)].map((v) => v.padStart(9)).join(' '),
          ),
        ].join('\n'),
      );
    });
  },
};

import { promises as fs } from 'node:fs';
import path from 'node:path';
import { InputError } from '../errors';
import { writeSafetensors } from '../weights/safetensors';
import type { SaeParameters, TrainableArchitecture } from './train';

/** What cfg.json records besides the shapes, which come from the weights. */
export interface SaeLensCfgFields {
  architecture: TrainableArchitecture;
  /** topk only */
  k?: number;
  modelName: string;
  hookName: string;
  prependBos: boolean;
  contextSize: number;
  datasetPath: string;
}

/** SAELens writes log10(density + 1e-10), so a feature that never fired is -10 rather than -Infinity. */
const SPARSITY_EPSILON = 1e-10;

/**
 * Writes an SAE as a SAELens 6.x directory: cfg.json, sae_weights.safetensors (W_enc [d_in, d_sae],
 * W_dec [d_sae, d_in], b_enc, b_dec) and, given feature densities, sparsity.safetensors. cfg.json is written last
 * (and atomically), so an interrupted write leaves no directory that looks like a complete SAE.
 */
export async function writeSaeLensDirectory(
  dir: string,
  weights: SaeParameters,
  fields: SaeLensCfgFields,
  featureDensity?: Float32Array,
): Promise<void> {
  const dIn = weights.b_dec.length;
  const dSae = weights.b_enc.length;
  if (weights.W_enc.length !== dIn * dSae || weights.W_dec.length !== dSae * dIn) {
    throw new InputError(`SAE weights do not fit d_in = ${dIn} and d_sae = ${dSae} (W_enc ${weights.W_enc.length}, W_dec ${weights.W_dec.length} values)`);
  }
  if (fields.architecture === 'topk' && !(fields.k && fields.k <= dSae)) throw new InputError(`a topk SAE needs k in 1..${dSae}, got ${fields.k}`);
  if (featureDensity && featureDensity.length !== dSae) throw new InputError(`feature densities: ${featureDensity.length} values for d_sae = ${dSae}`);

  const cfg = {
    architecture: fields.architecture,
    d_in: dIn,
    d_sae: dSae,
    dtype: 'float32',
    device: 'cpu',
    apply_b_dec_to_input: true,
    normalize_activations: 'none',
    // an SAE trained at attn.hook_z saw the heads concatenated
    reshape_activations: fields.hookName.endsWith('.attn.hook_z') ? 'hook_z' : 'none',
    ...(fields.architecture === 'topk' && { k: fields.k, rescale_acts_by_decoder_norm: false }),
    metadata: {
      model_name: fields.modelName,
      hook_name: fields.hookName,
      hook_head_index: null,
      prepend_bos: fields.prependBos,
      context_size: fields.contextSize,
      dataset_path: fields.datasetPath,
      sae_lens_version: '6.0.0',
    },
  };

  await fs.mkdir(dir, { recursive: true });
  await writeSafetensors(path.join(dir, 'sae_weights.safetensors'), {
    W_enc: { shape: [dIn, dSae], data: weights.W_enc },
    W_dec: { shape: [dSae, dIn], data: weights.W_dec },
    b_enc: { shape: [dSae], data: weights.b_enc },
    b_dec: { shape: [dIn], data: weights.b_dec },
  });
  if (featureDensity) {
    const sparsity = Float32Array.from(featureDensity, (density) => Math.log10(density + SPARSITY_EPSILON));
    await writeSafetensors(path.join(dir, 'sparsity.safetensors'), { sparsity: { shape: [dSae], data: sparsity } });
  }
  const cfgFile = path.join(dir, 'cfg.json');
  const tmp = `${cfgFile}.tmp-${process.pid}`;
  await fs.writeFile(tmp, JSON.stringify(cfg, null, 2) + '\n');
  await fs.rename(tmp, cfgFile);
}

/**
 * The benchmarks' GPT-2-small-shaped model (12 layers, d 768, vocab 50257) and 24576-feature standard SAE at
 * blocks.6.hook_resid_pre: seeded random weights, as arrays or written in Hugging Face / SAELens layout.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { Gpt2Config } from '@/compute/model/gpt2';
import { gaussian, type Random } from '@/compute/random';
import { writeSafetensors } from '@/compute/weights/safetensors';

export type Arrays = Map<string, { shape: number[]; data: Float32Array }>;

export const GPT2_CONFIG: Gpt2Config = {
  architecture: 'gpt2', dModel: 768, nLayers: 12, nHeads: 12, nKvHeads: 12, dMlp: 3072, vocabSize: 50257, contextLength: 1024, layerNormEps: 1e-5,
};
export const GPT2_SAE_CFG = {
  architecture: 'standard', d_in: 768, d_sae: 24576, dtype: 'float32', apply_b_dec_to_input: true, normalize_activations: 'none',
  metadata: { model_name: 'gpt2-small-shaped-random', hook_name: 'blocks.6.hook_resid_pre', prepend_bos: true, context_size: 128, sae_lens_version: '6.0.0' },
};

/** GPT-2's parameters as Hugging Face names them (without the `transformer.` prefix), seeded normal(0, 0.02) values. */
export function gpt2Arrays(random: Random): Arrays {
  const { dModel: d, dMlp, vocabSize, contextLength, nLayers } = GPT2_CONFIG;
  const arrays: Arrays = new Map();
  const normal = (name: string, shape: number[], std = 0.02) => {
    const data = gaussian(random, shape.reduce((a, b) => a * b, 1));
    for (let i = 0; i < data.length; i++) data[i] *= std;
    arrays.set(name, { shape, data });
  };
  const filled = (name: string, n: number, value: number) => arrays.set(name, { shape: [n], data: new Float32Array(n).fill(value) });
  const layerNorm = (name: string) => {
    filled(`${name}.weight`, d, 1);
    filled(`${name}.bias`, d, 0);
  };
  const conv1d = (name: string, dIn: number, dOut: number) => {
    normal(`${name}.weight`, [dIn, dOut]);
    filled(`${name}.bias`, dOut, 0);
  };
  normal('wte.weight', [vocabSize, d]);
  normal('wpe.weight', [contextLength, d], 0.01);
  for (let l = 0; l < nLayers; l++) {
    layerNorm(`h.${l}.ln_1`);
    conv1d(`h.${l}.attn.c_attn`, d, 3 * d);
    conv1d(`h.${l}.attn.c_proj`, d, d);
    layerNorm(`h.${l}.ln_2`);
    conv1d(`h.${l}.mlp.c_fc`, d, dMlp);
    conv1d(`h.${l}.mlp.c_proj`, dMlp, d);
  }
  layerNorm('ln_f');
  return arrays;
}

/** A standard SAE's tensors: encoder columns and decoder rows of norm ≈ 1, b_enc slightly negative (sparse acts). */
export function saeArrays(random: Random, dIn = GPT2_SAE_CFG.d_in, dSae = GPT2_SAE_CFG.d_sae): Arrays {
  const W_dec = gaussian(random, dSae * dIn);
  for (let i = 0; i < W_dec.length; i++) W_dec[i] /= Math.sqrt(dIn);
  const W_enc = new Float32Array(dIn * dSae);
  for (let f = 0; f < dSae; f++) for (let i = 0; i < dIn; i++) W_enc[i * dSae + f] = W_dec[f * dIn + i];
  return new Map([
    ['W_enc', { shape: [dIn, dSae], data: W_enc }],
    ['W_dec', { shape: [dSae, dIn], data: W_dec }],
    ['b_enc', { shape: [dSae], data: new Float32Array(dSae).fill(-0.05) }],
    ['b_dec', { shape: [dIn], data: new Float32Array(dIn) }],
  ]);
}

/** Writes the model to `dir`/model (config.json, model.safetensors) and the SAE to `dir`/sae (cfg.json, sae_weights.safetensors). */
export async function writeGpt2Shaped(dir: string, model: Arrays, sae: Arrays): Promise<{ modelDir: string; saeDir: string }> {
  const modelDir = path.join(dir, 'model');
  const saeDir = path.join(dir, 'sae');
  await fs.mkdir(modelDir, { recursive: true });
  await fs.mkdir(saeDir, { recursive: true });
  const { dModel, nLayers, nHeads, vocabSize, contextLength, layerNormEps } = GPT2_CONFIG;
  await fs.writeFile(path.join(modelDir, 'config.json'), JSON.stringify({
    model_type: 'gpt2', n_embd: dModel, n_layer: nLayers, n_head: nHeads, vocab_size: vocabSize, n_positions: contextLength,
    layer_norm_epsilon: layerNormEps, activation_function: 'gelu_new', tie_word_embeddings: true,
  }));
  await writeSafetensors(path.join(modelDir, 'model.safetensors'), Object.fromEntries(model));
  await fs.writeFile(path.join(saeDir, 'cfg.json'), JSON.stringify(GPT2_SAE_CFG));
  await writeSafetensors(path.join(saeDir, 'sae_weights.safetensors'), Object.fromEntries(sae));
  return { modelDir, saeDir };
}

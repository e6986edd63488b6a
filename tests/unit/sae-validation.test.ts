import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '@/compute/backend';
import { InputError } from '@/compute/errors';
import { loadSae, validateSaeForModel } from '@/compute/sae/load';
import type { Sae } from '@/compute/sae/sae';
import { writeSafetensors } from '@/compute/weights/safetensors';
import { gaussian, makeTempDir, seededRandom, writeSaeDir, type SaeTensors } from './sae-helpers';

/** Bad SAE directories and SAE/model mismatches: each an InputError whose message names the problem. */

const D_IN = 8;
const D_SAE = 16;

let tmp: string;
beforeAll(async () => {
  await initBackend();
  tmp = await makeTempDir('sae-validation');
});
afterAll(() => fs.rm(tmp, { recursive: true, force: true }));

function cfg(extra: object = {}, hookName = 'blocks.1.hook_resid_post'): Record<string, unknown> {
  return {
    architecture: 'standard', d_in: D_IN, d_sae: D_SAE, dtype: 'float32', apply_b_dec_to_input: true, normalize_activations: 'none',
    metadata: { model_name: 'toy', hook_name: hookName, hook_head_index: null, prepend_bos: true, context_size: 64, sae_lens_version: '6.0.0' },
    ...extra,
  };
}

function tensors(): SaeTensors {
  const random = seededRandom(7);
  return {
    W_enc: { shape: [D_IN, D_SAE], data: gaussian(random, D_IN * D_SAE) },
    W_dec: { shape: [D_SAE, D_IN], data: gaussian(random, D_SAE * D_IN) },
    b_enc: { shape: [D_SAE], data: gaussian(random, D_SAE) },
    b_dec: { shape: [D_IN], data: gaussian(random, D_IN) },
  };
}

let dirCount = 0;
async function saeDir(config: object, weights: SaeTensors): Promise<string> {
  const dir = path.join(tmp, `sae-${dirCount++}`);
  await writeSaeDir(dir, config, weights);
  return dir;
}

async function loadError(dir: string): Promise<Error> {
  const error = await loadSae(dir).then(
    (sae) => {
      sae.dispose();
      return undefined;
    },
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(InputError);
  return error as Error;
}

describe('loadSae rejects bad directories', () => {
  it('a missing tensor', async () => {
    const { b_enc: _, ...rest } = tensors();
    const dir = await saeDir(cfg(), rest);
    expect((await loadError(dir)).message).toBe(
      `${path.join(dir, 'sae_weights.safetensors')}: tensor "b_enc" is missing; a standard SAE needs W_enc, W_dec, b_dec, b_enc`,
    );
  });

  it('a jumprelu SAE without its threshold', async () => {
    const dir = await saeDir(cfg({ architecture: 'jumprelu' }), tensors());
    expect((await loadError(dir)).message).toMatch(/tensor "threshold" is missing; a jumprelu SAE needs W_enc, W_dec, b_dec, b_enc, threshold/);
  });

  it('a tensor the architecture does not use (the cfg probably names the wrong architecture)', async () => {
    const weights = { ...tensors(), threshold: { shape: [D_SAE], data: new Float32Array(D_SAE) } };
    const dir = await saeDir(cfg(), weights);
    expect((await loadError(dir)).message).toMatch(/unexpected tensor "threshold" for a standard SAE .*is cfg\.json's architecture right\?/);
  });

  it('a shape that does not match cfg.json', async () => {
    const weights = tensors();
    weights.W_dec = { shape: [D_IN, D_SAE], data: weights.W_dec.data };
    const dir = await saeDir(cfg(), weights);
    expect((await loadError(dir)).message).toBe(
      `${path.join(dir, 'sae_weights.safetensors')}: tensor "W_dec" has shape [8, 16], expected [d_sae, d_in] = [16, 8] from cfg.json`,
    );
  });

  it('d_in in cfg.json disagreeing with the weights', async () => {
    const dir = await saeDir(cfg({ d_in: 9 }), tensors());
    expect((await loadError(dir)).message).toMatch(/tensor "W_enc" has shape \[8, 16\], expected \[d_in, d_sae\] = \[9, 16\]/);
  });

  it('NaN or Inf in a tensor', async () => {
    const weights = tensors();
    weights.W_enc.data[3 * D_SAE + 5] = NaN;
    weights.W_enc.data[4 * D_SAE] = Infinity;
    const dir = await saeDir(cfg(), weights);
    expect((await loadError(dir)).message).toMatch(/tensor "W_enc" contains 2 non-finite value\(s\), the first NaN at \[3, 5\]/);
  });

  it('an unknown architecture', async () => {
    const dir = await saeDir(cfg({ architecture: 'crosscoder' }), tensors());
    expect((await loadError(dir)).message).toBe(
      `${path.join(dir, 'cfg.json')}: field "architecture": unknown SAE architecture "crosscoder" (supported: standard, topk, jumprelu, gated, transcoder, skip_transcoder, jumprelu_transcoder, jumprelu_skip_transcoder)`,
    );
  });

  it('a truncated weights file', async () => {
    const dir = await saeDir(cfg(), tensors());
    const file = path.join(dir, 'sae_weights.safetensors');
    const bytes = await fs.readFile(file);
    await fs.writeFile(file, bytes.subarray(0, bytes.length - 10));
    expect((await loadError(dir)).message).toMatch(/sae_weights\.safetensors: tensor "b_dec": data_offsets \[\d+, \d+\] run past the data section .* truncated/);
  });

  it('an unsupported dtype in the weights', async () => {
    const dir = await saeDir(cfg(), tensors());
    // rewrite the header's dtype of b_dec to I32 (same element size, so only the dtype is wrong)
    const file = path.join(dir, 'sae_weights.safetensors');
    const bytes = await fs.readFile(file);
    const patched = Buffer.from(bytes.toString('latin1').replace('"b_dec":{"dtype":"F32"', '"b_dec":{"dtype":"I32"'), 'latin1');
    await fs.writeFile(file, patched);
    expect((await loadError(dir)).message).toMatch(/tensor "b_dec" has dtype I32; only F32, F16 and BF16 are supported/);
  });

  it('a missing or unparsable cfg.json', async () => {
    const dir = await saeDir(cfg(), tensors());
    await fs.writeFile(path.join(dir, 'cfg.json'), '{"d_in": 8,');
    expect((await loadError(dir)).message).toMatch(/cfg\.json: not valid JSON/);
    await fs.rm(path.join(dir, 'cfg.json'));
    expect((await loadError(dir)).message).toMatch(/cfg\.json: not found/);
  });

  it('a sparsity file with NaN', async () => {
    const dir = await saeDir(cfg(), tensors());
    const sparsity = new Float32Array(D_SAE).fill(-2);
    sparsity[4] = NaN;
    await writeSafetensors(path.join(dir, 'sparsity.safetensors'), { sparsity: { shape: [D_SAE], data: sparsity } });
    expect((await loadError(dir)).message).toMatch(/sparsity\.safetensors: tensor "sparsity" has NaN at feature 4/);
  });
});

describe('validateSaeForModel', () => {
  const model = { hookNames: ['hook_embed', 'blocks.0.hook_resid_pre', 'blocks.0.mlp.hook_post', 'blocks.0.hook_resid_post', 'blocks.1.hook_resid_pre', 'blocks.1.mlp.hook_post', 'blocks.1.hook_resid_post'], dModel: D_IN, dMlp: 32 };
  let sae: Sae;
  beforeAll(async () => {
    sae = await loadSae(await saeDir(cfg(), tensors()));
  });
  afterAll(() => sae.dispose());

  it('accepts an SAE whose hook and width match', () => {
    expect(() => validateSaeForModel(sae, model)).not.toThrow();
  });

  it('rejects a hook the model does not have, listing hooks of the same kind', async () => {
    const other = await loadSae(await saeDir(cfg({}, 'blocks.7.hook_resid_post'), tensors()));
    expect(() => validateSaeForModel(other, model)).toThrow(InputError);
    expect(() => validateSaeForModel(other, model)).toThrow(
      'SAE hook "blocks.7.hook_resid_post" (cfg.json hook_name) does not exist in this model; hooks of this kind here: blocks.0.hook_resid_post, blocks.1.hook_resid_post',
    );
    other.dispose();
  });

  it('rejects d_in that does not match the model width at the hook', () => {
    expect(() => validateSaeForModel(sae, { ...model, dModel: 64 })).toThrow(
      'SAE d_in = 8 does not match the width of "blocks.1.hook_resid_post" in this model (d_model = 64)',
    );
  });

  it('checks an SAE on MLP activations against d_mlp', async () => {
    const mlp = await loadSae(await saeDir(cfg({}, 'blocks.1.mlp.hook_post'), tensors()));
    expect(() => validateSaeForModel(mlp, model)).toThrow('SAE d_in = 8 does not match the width of "blocks.1.mlp.hook_post" in this model (d_mlp = 32)');
    expect(() => validateSaeForModel(mlp, { ...model, dMlp: D_IN })).not.toThrow();
    mlp.dispose();
  });
});

import { promises as fs } from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '@/compute/backend';
import { parseSaeConfig } from '@/compute/sae/config';
import { importCheck } from '@/compute/sae/import-check';
import { loadSae, openDecoderRows } from '@/compute/sae/load';
import { GatedSae, JumpReluSae, StandardSae, TopKSae, type Sae } from '@/compute/sae/sae';
import { writeSafetensors } from '@/compute/weights/safetensors';
import { f32, writeNpz } from '../helpers/npz-writer';
import { gaussian, gridValues, makeTempDir, seededRandom, writeSaeDir, type SaeTensors } from './sae-helpers';
import { mismatch, referenceForward, type ReferenceSpec } from './sae-reference';

const D_IN = 12;
const D_SAE = 40;
const N_TOKENS = 9;

let tmp: string;
beforeAll(async () => {
  await initBackend();
  tmp = await makeTempDir('sae');
});
afterAll(() => fs.rm(tmp, { recursive: true, force: true }));

/** 6.x cfg.json */
function cfg6(architecture: string, extra: object = {}, metadata: object = {}): object {
  return {
    architecture,
    d_in: D_IN,
    d_sae: D_SAE,
    dtype: 'float32',
    device: 'cpu',
    apply_b_dec_to_input: true,
    normalize_activations: 'none',
    reshape_activations: 'none',
    ...extra,
    metadata: { model_name: 'toy', hook_name: 'blocks.1.hook_resid_post', hook_head_index: null, prepend_bos: true, context_size: 128, dataset_path: 'toy', sae_lens_version: '6.5.0', ...metadata },
  };
}

/** pre-6.0 cfg.json: everything flat */
function cfgLegacy(extra: object = {}): object {
  return {
    d_in: D_IN,
    d_sae: D_SAE,
    dtype: 'float32',
    device: 'cpu',
    model_name: 'toy',
    hook_name: 'blocks.1.hook_resid_pre',
    hook_layer: 1,
    hook_head_index: null,
    activation_fn_str: 'relu',
    apply_b_dec_to_input: true,
    finetuning_scaling_factor: false,
    context_size: 128,
    prepend_bos: true,
    dataset_path: 'Skylion007/openwebtext',
    normalize_activations: 'none',
    sae_lens_training_version: '3.5.0',
    ...extra,
  };
}

/** Random weights for an architecture; `values` picks the generator (the grid one survives F16/BF16 exactly). */
function randomTensors(architecture: string, seed: number, values: 'gaussian' | 'grid' = 'gaussian'): SaeTensors {
  const random = seededRandom(seed);
  const gen = (n: number, scale: number) => (values === 'grid' ? gridValues(random, n, scale) : gaussian(random, n, scale));
  const t: SaeTensors = {
    W_enc: { shape: [D_IN, D_SAE], data: gen(D_IN * D_SAE, 0.5) },
    W_dec: { shape: [D_SAE, D_IN], data: gen(D_SAE * D_IN, 0.5) },
    b_dec: { shape: [D_IN], data: gen(D_IN, 0.5) },
  };
  if (architecture === 'gated') {
    t.b_gate = { shape: [D_SAE], data: gen(D_SAE, 0.5) };
    t.b_mag = { shape: [D_SAE], data: gen(D_SAE, 0.5) };
    t.r_mag = { shape: [D_SAE], data: gen(D_SAE, 0.25) };
  } else {
    t.b_enc = { shape: [D_SAE], data: gen(D_SAE, 0.5) };
  }
  if (architecture === 'jumprelu') {
    // mostly positive thresholds as trained, a few negative to pin down relu(pre)·(pre > threshold)
    t.threshold = { shape: [D_SAE], data: gen(D_SAE, 0.5).map((v, j) => (j % 7 === 0 ? -Math.abs(v) : Math.abs(v))) };
  }
  return t;
}

/** Activations with a non-zero mean, so that subtracting b_dec matters. */
function randomInput(seed: number, nTokens = N_TOKENS): number[][] {
  const data = gaussian(seededRandom(seed), nTokens * D_IN, 1.5, 0.7);
  return Array.from({ length: nTokens }, (_, t) => Array.from(data.subarray(t * D_IN, (t + 1) * D_IN)));
}

function specOf(tensors: SaeTensors, spec: Omit<ReferenceSpec, 'tensors' | 'dIn' | 'dSae'>): ReferenceSpec {
  return { ...spec, dIn: D_IN, dSae: D_SAE, tensors: Object.fromEntries(Object.entries(tensors).map(([k, v]) => [k, v.data])) };
}

/** Runs the SAE on x and compares acts and reconstruction, token by token, with the JavaScript reference. */
function expectMatchesReference(sae: Sae, x: number[][], spec: ReferenceSpec): void {
  const input = tf.tensor2d(x);
  const { acts, reconstruction } = sae.forward(input);
  const actsRows = acts.arraySync();
  const reconRows = reconstruction.arraySync();
  // encode/decode on their own agree with forward
  const encoded = sae.encode(input);
  const decoded = sae.decode(encoded, input);
  expect(mismatch(encoded.dataSync(), acts.dataSync(), 'encode vs forward', 1e-6, 1e-6)).toBe('');
  expect(mismatch(decoded.dataSync(), reconstruction.dataSync(), 'decode vs forward', 1e-6, 1e-6)).toBe('');
  tf.dispose([input, acts, reconstruction, encoded, decoded]);

  let active = 0;
  x.forEach((row, t) => {
    const expected = referenceForward(spec, row);
    expect(mismatch(actsRows[t], expected.acts, `acts of token ${t}`)).toBe('');
    expect(mismatch(reconRows[t], expected.reconstruction, `reconstruction of token ${t}`)).toBe('');
    active += expected.acts.filter((a) => a > 0).length;
  });
  // the case must exercise the activation function: some features on, most off
  expect(active).toBeGreaterThan(0);
  expect(active).toBeLessThan(x.length * D_SAE);
}

async function saeFrom(name: string, cfg: object, tensors: SaeTensors, dtype: 'F32' | 'F16' | 'BF16' = 'F32', options = {}): Promise<Sae> {
  const dir = path.join(tmp, name);
  await writeSaeDir(dir, cfg, tensors, dtype);
  return loadSae(dir, options);
}

describe('SAE architectures against a plain-JavaScript reference', () => {
  it('standard (6.x cfg, apply_b_dec_to_input false)', async () => {
    const tensors = randomTensors('standard', 1);
    const sae = await saeFrom('standard', cfg6('standard', { apply_b_dec_to_input: false }), tensors);
    expect(sae).toBeInstanceOf(StandardSae);
    expectMatchesReference(sae, randomInput(100), specOf(tensors, { architecture: 'standard', applyBDecToInput: false }));
    sae.dispose();
  });

  it('jumprelu (6.x cfg): relu(pre) where pre > threshold', async () => {
    const tensors = randomTensors('jumprelu', 2);
    const sae = await saeFrom('jumprelu', cfg6('jumprelu'), tensors);
    expect(sae).toBeInstanceOf(JumpReluSae);
    expectMatchesReference(sae, randomInput(101), specOf(tensors, { architecture: 'jumprelu', applyBDecToInput: true }));
    sae.dispose();
  });

  it('topk (6.x cfg, k = 5)', async () => {
    const tensors = randomTensors('topk', 3);
    const sae = await saeFrom('topk', cfg6('topk', { k: 5 }), tensors);
    expect(sae).toBeInstanceOf(TopKSae);
    const x = randomInput(102);
    expectMatchesReference(sae, x, specOf(tensors, { architecture: 'topk', applyBDecToInput: true, k: 5 }));
    const acts = sae.encode(tf.tensor2d(x));
    const perToken = tf.sum(tf.greater(acts, 0), 1).arraySync() as number[];
    expect(Math.max(...perToken)).toBeLessThanOrEqual(5);
    tf.dispose(acts);
    sae.dispose();
  });

  it('topk with rescale_acts_by_decoder_norm (decoder rows of varying norm)', async () => {
    const tensors = randomTensors('topk', 4);
    const W_dec = tensors.W_dec.data;
    for (let j = 0; j < D_SAE; j++) for (let i = 0; i < D_IN; i++) W_dec[j * D_IN + i] *= 0.2 + (j % 5);
    const sae = await saeFrom('topk-rescale', cfg6('topk', { k: 4, rescale_acts_by_decoder_norm: true }), tensors);
    // folded into the weights: unit-norm decoder rows, so acts[:, f]·W_dec[f] is feature f's contribution
    expect(sae.cfg).toMatchObject({ rescaleActsByDecoderNorm: false, raw: { rescale_acts_by_decoder_norm: true } });
    const rowNorms = tf.norm(sae.weights.W_dec, 'euclidean', 1);
    expect(mismatch(rowNorms.dataSync(), new Array(D_SAE).fill(1), 'W_dec row norms', 1e-6, 1e-6)).toBe('');
    rowNorms.dispose();
    expectMatchesReference(sae, randomInput(103), specOf(tensors, { architecture: 'topk', applyBDecToInput: true, k: 4, rescaleActsByDecoderNorm: true }));
    sae.dispose();
  });

  it('topk in the pre-6.0 form (activation_fn_str topk, activation_fn_kwargs.k), F16 weights', async () => {
    const tensors = randomTensors('topk', 5, 'grid');
    const cfg = cfgLegacy({ activation_fn_str: 'topk', activation_fn_kwargs: { k: 3 } });
    const sae = await saeFrom('topk-legacy-f16', cfg, tensors, 'F16');
    expect(sae).toBeInstanceOf(TopKSae);
    expect(sae.cfg).toMatchObject({ architecture: 'topk', k: 3, format: 'saelens-legacy', hookLayer: 1 });
    expectMatchesReference(sae, randomInput(104), specOf(tensors, { architecture: 'topk', applyBDecToInput: true, k: 3 }));
    sae.dispose();
  });

  it('gated (SAELens GatedSAE), BF16 weights', async () => {
    const tensors = randomTensors('gated', 6, 'grid');
    const sae = await saeFrom('gated-bf16', cfg6('gated'), tensors, 'BF16');
    expect(sae).toBeInstanceOf(GatedSae);
    expect(sae.weights.b_enc).toBeUndefined();
    expectMatchesReference(sae, randomInput(105), specOf(tensors, { architecture: 'gated', applyBDecToInput: true }));
    sae.dispose();
  });

  it('jumprelu in the pre-6.0 form with BF16 weights', async () => {
    const tensors = randomTensors('jumprelu', 7, 'grid');
    const sae = await saeFrom('jumprelu-legacy-bf16', cfgLegacy({ architecture: 'jumprelu' }), tensors, 'BF16');
    expectMatchesReference(sae, randomInput(106), specOf(tensors, { architecture: 'jumprelu', applyBDecToInput: true }));
    sae.dispose();
  });
});

describe('activation normalisation', () => {
  it('constant_norm_rescale: each token scaled to norm sqrt(d_in), undone on the reconstruction', async () => {
    const tensors = randomTensors('standard', 8);
    const sae = await saeFrom('constant-norm', cfg6('standard', { normalize_activations: 'constant_norm_rescale' }), tensors);
    expectMatchesReference(sae, randomInput(107), specOf(tensors, { architecture: 'standard', applyBDecToInput: true, normalize: 'constant_norm_rescale' }));
    // decoding needs the input to undo a per-token normalisation
    const acts = sae.encode(tf.tensor2d(randomInput(107)));
    expect(() => sae.decode(acts)).toThrow(/needs the input x/);
    tf.dispose(acts);
    sae.dispose();
  });

  it('layer_norm: per-token (x − mean)/(std + eps), undone on the reconstruction', async () => {
    const tensors = randomTensors('jumprelu', 9);
    const cfg = cfg6('jumprelu', { normalize_activations: 'layer_norm', apply_b_dec_to_input: false });
    const sae = await saeFrom('layer-norm', cfg, tensors);
    expectMatchesReference(sae, randomInput(108), specOf(tensors, { architecture: 'jumprelu', applyBDecToInput: false, normalize: 'layer_norm' }));
    sae.dispose();
  });

  it('expected_average_only_in (pre-6.0 `normalize_activations: true`) with norm_scaling_factor from cfg.json, folded into the weights', async () => {
    const tensors = randomTensors('standard', 10);
    const cfg = cfgLegacy({ normalize_activations: true, norm_scaling_factor: 0.37 });
    const sae = await saeFrom('expected-average', cfg, tensors);
    expect(sae.cfg).toMatchObject({ normalizeActivations: 'none', normScalingFactor: 0.37 });
    expect(sae.cfg.raw.normalize_activations).toBe(true);
    expectMatchesReference(sae, randomInput(109), specOf(tensors, { architecture: 'standard', applyBDecToInput: true, normalize: 'expected_average_only_in', normScalingFactor: 0.37 }));
    sae.dispose();
  });

  it('expected_average_only_in needs a scaling factor: from loadSae options, else a clear error', async () => {
    const tensors = randomTensors('topk', 11);
    const dir = path.join(tmp, 'expected-average-no-factor');
    await writeSaeDir(dir, cfg6('topk', { k: 6, normalize_activations: 'expected_average_only_in' }), tensors);
    await expect(loadSae(dir)).rejects.toThrow(/expected_average_only_in but no norm scaling factor/);
    const sae = await loadSae(dir, { normScalingFactor: 2.5 });
    expectMatchesReference(sae, randomInput(110), specOf(tensors, { architecture: 'topk', k: 6, applyBDecToInput: true, normalize: 'expected_average_only_in', normScalingFactor: 2.5 }));
    sae.dispose();
  });
});

describe('legacy scaling_factor and sparsity', () => {
  it('a non-trivial pre-6.0 scaling_factor multiplies the activations before decoding', async () => {
    const tensors = randomTensors('standard', 12);
    const scale = { shape: [D_SAE], data: gaussian(seededRandom(13), D_SAE, 0.3, 1) };
    const sae = await saeFrom('finetuning-scale', cfgLegacy({ finetuning_scaling_factor: true }), { ...tensors, scaling_factor: scale });
    const spec = specOf({ ...tensors, scaling_factor: scale }, { architecture: 'standard', applyBDecToInput: true });
    expectMatchesReference(sae, randomInput(111), spec);
    sae.dispose();
  });

  it('an all-ones scaling_factor is ignored; a non-trivial one without finetuning_scaling_factor is rejected', async () => {
    const tensors = randomTensors('standard', 14);
    const ones = { shape: [D_SAE], data: new Float32Array(D_SAE).fill(1) };
    const sae = await saeFrom('ones-scale', cfgLegacy(), { ...tensors, scaling_factor: ones });
    expectMatchesReference(sae, randomInput(112), specOf(tensors, { architecture: 'standard', applyBDecToInput: true }));
    sae.dispose();

    const twos = { shape: [D_SAE], data: new Float32Array(D_SAE).fill(2) };
    await expect(saeFrom('bad-scale', cfgLegacy(), { ...tensors, scaling_factor: twos })).rejects.toThrow(
      /tensor "scaling_factor" is not all ones but cfg.json has finetuning_scaling_factor false/,
    );
  });

  it('reads log10 feature densities from sparsity.safetensors', async () => {
    const dir = path.join(tmp, 'with-sparsity');
    await writeSaeDir(dir, cfg6('standard'), randomTensors('standard', 15));
    const sparsity = Float32Array.from({ length: D_SAE }, (_, j) => -1 - j / 10);
    await writeSafetensors(path.join(dir, 'sparsity.safetensors'), { sparsity: { shape: [D_SAE], data: sparsity } });
    const sae = await loadSae(dir);
    expect(Array.from(sae.logSparsity!)).toEqual(Array.from(sparsity));
    sae.dispose();
  });
});

describe('config parsing', () => {
  it('normalises the 6.x and the pre-6.0 cfg.json into the same SaeConfig', () => {
    const modern = parseSaeConfig(cfg6('topk', { k: 7 }, { hook_name: 'blocks.3.hook_resid_pre', dataset_path: 'owt' }));
    const legacy = parseSaeConfig(
      cfgLegacy({ activation_fn_str: 'topk', activation_fn_kwargs: { k: 7 }, hook_name: 'blocks.3.hook_resid_pre', hook_layer: 3, dataset_path: 'owt' }),
    );
    const { raw: _r1, format: f1, ...a } = modern;
    const { raw: _r2, format: f2, ...b } = legacy;
    expect([f1, f2]).toEqual(['saelens-6', 'saelens-legacy']);
    expect(a).toEqual(b);
    expect(a).toMatchObject({ architecture: 'topk', k: 7, dIn: D_IN, dSae: D_SAE, hookName: 'blocks.3.hook_resid_pre', hookLayer: 3, prependBos: true, contextSize: 128, modelName: 'toy', datasetPath: 'owt' });
  });

  it('accepts the oldest spelling hook_point', () => {
    const raw = cfgLegacy({ hook_point: 'blocks.0.hook_mlp_out' }) as Record<string, unknown>;
    delete raw.hook_name;
    delete raw.hook_layer;
    expect(parseSaeConfig(raw)).toMatchObject({ hookName: 'blocks.0.hook_mlp_out', hookLayer: 0, normalizeActivations: 'none' });
  });

  it('rejects bad fields, naming them as they are spelled in the file', () => {
    const bad = (cfg: object) => () => parseSaeConfig(cfg, 'x/cfg.json');
    const missingDIn = cfg6('standard') as Record<string, unknown>;
    delete missingDIn.d_in;
    expect(bad(missingDIn)).toThrow(/x\/cfg\.json: field "d_in": .*missing/);
    expect(bad(cfg6('standard', { d_sae: -3 }))).toThrow(/field "d_sae".*got -3/);
    expect(bad(cfg6('standard', {}, { hook_name: 42 }))).toThrow(/field "metadata\.hook_name".*got 42/);
    expect(bad(cfg6('standard', { normalize_activations: 'whiten' }))).toThrow(/field "normalize_activations"/);
    expect(bad(cfg6('standard', { reshape_activations: 'hook_z' }))).toThrow(/field "reshape_activations": "hook_z" concatenates attention heads, but hook_name is "blocks.1.hook_resid_post", not an attn.hook_z/);
    expect(bad(cfg6('standard', { reshape_activations: 'hook_q' }))).toThrow(/field "reshape_activations"/);
    expect(bad(cfg6('matryoshka'))).toThrow(/field "architecture": unknown SAE architecture "matryoshka" \(supported: standard, topk, jumprelu, gated, transcoder, skip_transcoder, jumprelu_transcoder, jumprelu_skip_transcoder\)/);
    // what SAELens writes but we cannot read is named, with the reason
    expect(bad(cfg6('batchtopk'))).toThrow(/field "architecture": "batchtopk" is a BatchTopK training checkpoint; SAELens saves the finished SAE as "jumprelu"/);
    expect(bad(cfg6('matryoshka_batchtopk'))).toThrow(/"matryoshka_batchtopk" is a Matryoshka BatchTopK training checkpoint/);
    expect(bad(cfg6('temporal'))).toThrow(/"temporal" is a temporal SAE .* not supported/);
    expect(bad(cfg6('clt'))).toThrow(/"clt" is a cross-layer transcoder/);
    // transcoders need their output side, and only they have one
    expect(bad(cfg6('transcoder', { apply_b_dec_to_input: false, hook_name_out: 'blocks.3.hook_mlp_out' }))).toThrow(/field "d_out": a transcoder needs d_out/);
    expect(bad(cfg6('skip_transcoder', { apply_b_dec_to_input: false, d_out: 8 }))).toThrow(/field "hook_name_out": a skip_transcoder needs hook_name_out/);
    expect(bad(cfg6('transcoder', { d_out: 8, hook_name_out: 'blocks.3.hook_mlp_out', apply_b_dec_to_input: true }))).toThrow(/field "apply_b_dec_to_input": a transcoder never subtracts/);
    // the output hook is also read where some exports put it, under metadata
    expect(parseSaeConfig(cfg6('transcoder', { apply_b_dec_to_input: false, d_out: 8 }, { hook_name_out: 'blocks.3.hook_mlp_out' }))).toMatchObject({ hookNameOut: 'blocks.3.hook_mlp_out' });
    expect(bad(cfg6('standard', { d_out: 8 }))).toThrow(/field "d_out": only transcoders have d_out/);
    expect(bad(cfg6('topk'))).toThrow(/field "k": a topk SAE needs k/);
    expect(bad(cfg6('topk', { k: 41 }))).toThrow(/field "k": k = 41 exceeds d_sae = 40/);
    expect(bad(cfgLegacy({ activation_fn_str: 'tanh-relu' }))).toThrow(/field "activation_fn_str": activation function "tanh-relu" is not supported/);
  });
});

it('forward passes leave no tensors behind', async () => {
  const sae = await saeFrom('memory', cfg6('topk', { k: 3, rescale_acts_by_decoder_norm: true, normalize_activations: 'layer_norm' }), randomTensors('topk', 16));
  const x = tf.tensor2d(randomInput(113));
  const before = tf.memory().numTensors;
  for (let i = 0; i < 3; i++) {
    const { acts, reconstruction } = sae.forward(x);
    tf.dispose([acts, reconstruction]);
  }
  expect(tf.memory().numTensors).toBe(before);
  x.dispose();
  const withSae = tf.memory().numTensors;
  sae.dispose();
  expect(tf.memory().numTensors).toBe(withSae - Object.keys(sae.weights).length);
});

describe('decoder rows read a few at a time (openDecoderRows)', () => {
  /** loadSae's W_dec rows of `indices`, row-major. */
  async function loadedRows(dir: string, indices: number[]): Promise<number[]> {
    const sae = await loadSae(dir);
    const width = sae.weights.W_dec.shape[1]!;
    const all = sae.weights.W_dec.dataSync();
    sae.dispose();
    return indices.flatMap((f) => Array.from(all.subarray(f * width, (f + 1) * width)));
  }
  // runs of consecutive features, out of order, and the last one
  const indices = [7, 8, 9, 0, 21, D_SAE - 1];

  it('gives the rows loadSae gives, with its foldings: rescale_acts_by_decoder_norm, scaling_factor, norm_scaling_factor', async () => {
    const rescaled = randomTensors('topk', 31);
    for (let j = 0; j < D_SAE; j++) for (let i = 0; i < D_IN; i++) rescaled.W_dec.data[j * D_IN + i] *= 0.2 + (j % 5);
    const scaled = { ...randomTensors('standard', 32), scaling_factor: { shape: [D_SAE], data: gaussian(seededRandom(33), D_SAE, 0.3, 1) } };
    const cases: [string, object, SaeTensors][] = [
      ['rows-rescale', cfg6('topk', { k: 4, rescale_acts_by_decoder_norm: true }), rescaled],
      ['rows-scaled', cfgLegacy({ finetuning_scaling_factor: true, normalize_activations: true, norm_scaling_factor: 0.37 }), scaled],
    ];
    for (const [name, cfg, tensors] of cases) {
      const dir = path.join(tmp, name);
      await writeSaeDir(dir, cfg, tensors);
      const rows = await openDecoderRows(dir);
      expect(rows).toMatchObject({ width: D_IN, dSae: D_SAE });
      const read = Array.from(await rows.read(indices));
      expect(read, name).toEqual(await loadedRows(dir, indices));
      // folded: not the file's rows
      expect(read.slice(0, D_IN), name).not.toEqual(Array.from(tensors.W_dec.data.subarray(7 * D_IN, 8 * D_IN)));
    }
  });

  it('a transcoder’s rows are d_out wide; a Gemma Scope params.npz is read too', async () => {
    const D_OUT = 5;
    const random = seededRandom(34);
    const transcoder: SaeTensors = {
      W_enc: { shape: [D_IN, D_SAE], data: gaussian(random, D_IN * D_SAE, 0.5) },
      W_dec: { shape: [D_SAE, D_OUT], data: gaussian(random, D_SAE * D_OUT, 0.5) },
      b_dec: { shape: [D_OUT], data: gaussian(random, D_OUT, 0.5) },
      b_enc: { shape: [D_SAE], data: gaussian(random, D_SAE, 0.5) },
    };
    const dir = path.join(tmp, 'rows-transcoder');
    await writeSaeDir(dir, cfg6('transcoder', { d_out: D_OUT, hook_name_out: 'blocks.1.hook_mlp_out', apply_b_dec_to_input: false }), transcoder);
    const rows = await openDecoderRows(dir);
    expect(rows.width).toBe(D_OUT);
    expect(Array.from(await rows.read(indices))).toEqual(indices.flatMap((f) => Array.from(transcoder.W_dec.data.subarray(f * D_OUT, (f + 1) * D_OUT))));

    const npzDir = path.join(tmp, 'rows-npz');
    await fs.mkdir(npzDir, { recursive: true });
    const tensors = randomTensors('standard', 35);
    await fs.writeFile(path.join(npzDir, 'cfg.json'), JSON.stringify(cfg6('standard')));
    writeNpz(path.join(npzDir, 'params.npz'), Object.fromEntries(Object.entries(tensors).map(([name, t]) => [name, f32(t.shape, t.data)])), { compress: true });
    expect(Array.from(await (await openDecoderRows(npzDir)).read(indices))).toEqual(await loadedRows(npzDir, indices));
  });

  it('names the tensor and the feature of a non-finite value, and refuses what loadSae refuses', async () => {
    const tensors = randomTensors('standard', 36);
    tensors.W_dec.data[21 * D_IN + 3] = NaN;
    const dir = path.join(tmp, 'rows-nan');
    await writeSaeDir(dir, cfg6('standard'), tensors);
    const rows = await openDecoderRows(dir);
    await expect(rows.read([0, 1])).resolves.toHaveLength(2 * D_IN);
    await expect(rows.read(indices)).rejects.toThrow(/sae_weights\.safetensors: tensor "W_dec" contains 1 non-finite value\(s\), the first NaN at \[21, 3\]/);
    await writeSaeDir(path.join(tmp, 'rows-bad-scale'), cfgLegacy(), { ...randomTensors('standard', 37), scaling_factor: { shape: [D_SAE], data: new Float32Array(D_SAE).fill(2) } });
    await expect(openDecoderRows(path.join(tmp, 'rows-bad-scale'))).rejects.toThrow(/tensor "scaling_factor" is not all ones but cfg.json has finetuning_scaling_factor false/);
  });
});

describe('import check on a synthetic SAE', () => {
  /**
   * A lossless SAE when b_dec is subtracted: W_enc = [I, −I], W_dec = [I; −I], b_enc = 0, so that
   * x̂ = relu(x − c) − relu(c − x) + c = x. Without the subtraction every token is off by c = b_dec.
   */
  function losslessTensors(): SaeTensors {
    const d = D_IN;
    const W_enc = new Float32Array(d * 2 * d);
    const W_dec = new Float32Array(2 * d * d);
    for (let i = 0; i < d; i++) {
      W_enc[i * 2 * d + i] = 1;
      W_enc[i * 2 * d + d + i] = -1;
      W_dec[i * d + i] = 1;
      W_dec[(d + i) * d + i] = -1;
    }
    return {
      W_enc: { shape: [d, 2 * d], data: W_enc },
      W_dec: { shape: [2 * d, d], data: W_dec },
      b_enc: { shape: [2 * d], data: new Float32Array(2 * d) },
      b_dec: { shape: [d], data: new Float32Array(d).fill(3) },
    };
  }

  it('is silent for the right convention and warns twice, loudly, for the wrong one', async () => {
    const x = tf.tensor2d(randomInput(114, 50));
    const cfg = (apply: boolean) => ({ ...cfg6('standard', { apply_b_dec_to_input: apply }), d_sae: 2 * D_IN });
    const right = await saeFrom('lossless-right', cfg(true), losslessTensors());
    const good = importCheck(x, right);
    expect(good.asGiven.varianceExplained).toBeCloseTo(1, 5);
    expect(good.warnings).toEqual([]);

    const wrong = await saeFrom('lossless-wrong', cfg(false), losslessTensors());
    const bad = importCheck(x, wrong);
    expect(bad.flipped!.varianceExplained).toBeCloseTo(1, 5);
    expect(bad.asGiven.varianceExplained).toBeLessThan(0);
    expect(bad.warnings).toHaveLength(2);
    expect(bad.warnings[0]).toMatch(/^apply_b_dec_to_input is almost certainly wrong: cfg.json says false, but with true/);
    expect(bad.warnings[1]).toMatch(/^the SAE reconstructs these activations poorly \(variance explained -\d+\.\d%.* over 50 tokens at blocks\.1\.hook_resid_post\)/);
    tf.dispose(x);
    right.dispose();
    wrong.dispose();
  });
});

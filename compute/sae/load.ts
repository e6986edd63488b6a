import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { InputError } from '../errors';
import { fileExists } from '../file-exists';
import { readJsonFile } from '../json-file';
import { readNpz, readNpzHeader } from '../weights/npz';
import { readSafetensors, readSafetensorsHeader, readSafetensorsRows } from '../weights/safetensors';
import { parseSaeConfig, TRANSCODER_ARCHITECTURES, type SaeConfig } from './config';
import { ARCHITECTURE_TENSORS, createSae, type Sae, type SaeWeights } from './sae';

/** SAELens directory layout */
const CFG_FILE = 'cfg.json';
const WEIGHTS_FILE = 'sae_weights.safetensors';
/** Gemma Scope keeps the same tensors in a NumPy archive (docs/formats.md#gemma-scope) */
export const NPZ_WEIGHTS_FILE = 'params.npz';
const SPARSITY_FILE = 'sparsity.safetensors';
/** pre-6.0 per-feature multiplier on the activations before decoding */
const FINETUNING_SCALE = 'scaling_factor';

export interface LoadSaeOptions {
  /**
   * For `normalize_activations: expected_average_only_in`: the input scale the SAE was trained with, when cfg.json
   * does not carry it as `norm_scaling_factor` (SAELens keeps it in its pretrained-SAE directory instead).
   */
  normScalingFactor?: number;
}

/** A weight tensor as read, float32 whatever the file holds. */
interface WeightArray {
  shape: number[];
  data: Float32Array;
}

/**
 * Loads and validates a SAELens SAE directory: cfg.json, sae_weights.safetensors (or, written by Gemma Scope,
 * params.npz) and, if present, sparsity.safetensors. Every problem is an InputError naming the file and the tensor or field.
 * Scale factors are folded into the weights (see foldScales), so the SAE's W_dec rows are the features' true
 * decoder directions; feature activations are unchanged by the folding.
 */
export async function loadSae(dir: string, options: LoadSaeOptions = {}): Promise<Sae> {
  const cfgFile = path.join(dir, CFG_FILE);
  const cfg = await readConfig(cfgFile);
  const weightsFile = await findWeightsFile(dir);
  const arrays = await readWeights(weightsFile, cfg);
  const runtimeCfg = foldScales(arrays, cfg, options, { cfgFile, weightsFile });
  const logSparsity = await readSparsity(path.join(dir, SPARSITY_FILE), cfg);

  const weights: Partial<Record<keyof SaeWeights, tf.Tensor>> = {};
  for (const name of ['W_enc', 'W_dec', 'b_dec', ...ARCHITECTURE_TENSORS[cfg.architecture]] as const) {
    const { shape, data } = arrays.get(name)!;
    weights[name] = tf.tensor(data, shape, 'float32');
  }
  return createSae(runtimeCfg, weights as SaeWeights, logSparsity);
}

/**
 * Folds into the weight arrays (in place) what SAELens applies around them, and returns the config that then
 * describes the weights. None of these change the feature activations:
 * - topk rescale_acts_by_decoder_norm (pre·‖W_dec[f]‖ ranked, acts/‖W_dec[f]‖ decoded): W_enc columns and b_enc
 *   times the row norms, W_dec rows normalised — as SAELens fold_W_dec_norm does for such SAEs;
 * - a pre-6.0 `scaling_factor` (acts·scale decoded): into the rows of W_dec;
 * - expected_average_only_in with input scale s (SAE(s·x)/s): W_enc·s, W_dec/s, b_dec/s, as SAELens
 *   from_pretrained does.
 */
function foldScales(
  arrays: Map<string, WeightArray>,
  cfg: SaeConfig,
  options: LoadSaeOptions,
  files: { cfgFile: string; weightsFile: string },
): SaeConfig {
  const folding = decoderFolding(cfg, arrays.get(FINETUNING_SCALE), options, files);
  const W_enc = arrays.get('W_enc')!.data;
  const W_dec = arrays.get('W_dec')!.data;
  const { dIn, dOut, dSae } = cfg;
  for (let f = 0; f < dSae; f++) {
    const norm = foldDecoderRow(W_dec.subarray(f * dOut, (f + 1) * dOut), f, folding);
    if (!folding.normalize) continue;
    for (let i = 0; i < dIn; i++) W_enc[i * dSae + f] *= norm;
    arrays.get('b_enc')!.data[f] *= norm;
  }
  let folded = folding.normalize ? { ...cfg, rescaleActsByDecoderNorm: false } : cfg;
  if (folding.inputScale !== null) {
    multiply(W_enc, folding.inputScale);
    multiply(arrays.get('b_dec')!.data, 1 / folding.inputScale);
    folded = { ...folded, normalizeActivations: 'none', normScalingFactor: folding.inputScale };
  }
  return folded;
}

/** What foldScales does to every decoder row: loadSae and the rows' reader (openDecoderRows) fold them alike. */
interface DecoderFolding {
  /** topk rescale_acts_by_decoder_norm: rows normalised */
  normalize: boolean;
  /** a pre-6.0 scaling_factor that is not all ones: row f times scale[f] */
  scale: Float32Array | null;
  /** expected_average_only_in's input scale s: rows divided by it */
  inputScale: number | null;
}

function decoderFolding(cfg: SaeConfig, scale: WeightArray | undefined, options: LoadSaeOptions, files: { cfgFile: string; weightsFile: string }): DecoderFolding {
  let rowScale: Float32Array | null = null;
  if (scale && !scale.data.every((v) => Math.abs(v - 1) <= 1e-6)) {
    // SAELens refuses this combination too: the file would be decoded differently from how it was trained.
    if (!cfg.finetuningScalingFactor) {
      throw new InputError(`${files.weightsFile}: tensor "${FINETUNING_SCALE}" is not all ones but cfg.json has finetuning_scaling_factor false`);
    }
    rowScale = scale.data;
  }
  let inputScale: number | null = null;
  if (cfg.normalizeActivations === 'expected_average_only_in') {
    const s = options.normScalingFactor ?? cfg.normScalingFactor;
    if (!(s !== null && s !== undefined && Number.isFinite(s) && s > 0)) {
      throw new InputError(
        `${files.cfgFile}: normalize_activations is expected_average_only_in but no norm scaling factor is known ` +
          '(add "norm_scaling_factor" to cfg.json, as listed for the SAE in SAELens pretrained_saes.yaml)',
      );
    }
    inputScale = s;
  }
  return { normalize: cfg.rescaleActsByDecoderNorm, scale: rowScale, inputScale };
}

/** Folds feature f's decoder row in place; returns the row's norm before (what the encoder takes) when rows are normalised. */
function foldDecoderRow(row: Float32Array, f: number, folding: DecoderFolding): number {
  let norm = 1;
  if (folding.normalize) {
    // a zero row never contributes; the clamp (as in SAELens's fold_W_dec_norm) only avoids dividing by zero
    norm = Math.max(euclideanNorm(row), 1e-8);
    multiply(row, 1 / norm);
  }
  if (folding.scale) multiply(row, folding.scale[f]);
  if (folding.inputScale !== null) multiply(row, 1 / folding.inputScale);
  return norm;
}

/** An SAE's decoder rows, read from its weights file a few at a time (see openDecoderRows). */
export interface DecoderRows {
  /** the decoder's width: d_out, which is d_in but for a transcoder */
  width: number;
  dSae: number;
  /** the rows W_dec[f] of `indices` (each below d_sae), row-major, folded as loadSae folds them */
  read(indices: readonly number[]): Promise<Float32Array>;
}

/**
 * The decoder rows of an SAE directory, as loadSae would give them, without loading the SAE: the cfg and the weights
 * file's header are checked as loadSae checks them, and each read takes only the rows asked for from a
 * safetensors file (a run of consecutive features in one read), so a 262k-feature decoder is never in memory whole.
 * A Gemma Scope params.npz may be deflated, which cannot be read from the middle: its W_dec is read once, whole.
 */
export async function openDecoderRows(dir: string, options: LoadSaeOptions = {}): Promise<DecoderRows> {
  const cfgFile = path.join(dir, CFG_FILE);
  const cfg = await readConfig(cfgFile);
  const weightsFile = await findWeightsFile(dir);
  const { shapes, read } = await checkedWeightsFile(weightsFile, cfg);
  const scale = shapes.has(FINETUNING_SCALE) ? (await read([FINETUNING_SCALE])).get(FINETUNING_SCALE) : undefined;
  const folding = decoderFolding(cfg, scale, options, { cfgFile, weightsFile });
  const width = cfg.dOut;
  const whole = weightsFile.endsWith('.npz') ? (await read(['W_dec'])).get('W_dec')!.data : null;
  const rows = (first: number, count: number) =>
    whole ? Promise.resolve(whole.slice(first * width, (first + count) * width)) : readSafetensorsRows(weightsFile, 'W_dec', first, count);
  return {
    width,
    dSae: cfg.dSae,
    async read(indices) {
      const out = new Float32Array(indices.length * width);
      for (let start = 0; start < indices.length; ) {
        let end = start + 1;
        while (end < indices.length && indices[end] === indices[end - 1]! + 1) end++;
        const first = indices[start]!;
        if (!Number.isInteger(first) || first < 0 || indices[end - 1]! >= cfg.dSae) {
          throw new Error(`openDecoderRows: features ${first}…${indices[end - 1]} are not all below d_sae = ${cfg.dSae}`);
        }
        const data = await rows(first, end - start);
        checkFinite({ data, shape: [end - start, width] }, 'W_dec', weightsFile, first);
        for (let k = 0; k < end - start; k++) foldDecoderRow(data.subarray(k * width, (k + 1) * width), first + k, folding);
        out.set(data, start * width);
        start = end;
      }
      return out;
    },
  };
}

async function readConfig(file: string): Promise<SaeConfig> {
  const json = await readJsonFile(file);
  if (json === undefined) throw new InputError(`${file}: not found (an SAELens SAE directory has cfg.json and ${WEIGHTS_FILE})`);
  return parseSaeConfig(json, file);
}

/** The shape each tensor must have, by name. */
function expectedShapes(cfg: SaeConfig): Map<string, { shape: number[]; dims: string }> {
  const { dIn, dSae, dOut } = cfg;
  // a transcoder's decoder is d_out wide; for an SAE d_out is d_in
  const out = TRANSCODER_ARCHITECTURES.includes(cfg.architecture) ? 'd_out' : 'd_in';
  const shapes = new Map([
    ['W_enc', { shape: [dIn, dSae], dims: 'd_in, d_sae' }],
    ['W_dec', { shape: [dSae, dOut], dims: `d_sae, ${out}` }],
    ['b_dec', { shape: [dOut], dims: out }],
  ]);
  for (const name of ARCHITECTURE_TENSORS[cfg.architecture]) {
    shapes.set(name, name === 'W_skip' ? { shape: [dOut, dIn], dims: 'd_out, d_in' } : { shape: [dSae], dims: 'd_sae' });
  }
  return shapes;
}

async function findWeightsFile(dir: string): Promise<string> {
  for (const name of [WEIGHTS_FILE, NPZ_WEIGHTS_FILE]) {
    const file = path.join(dir, name);
    if (await fileExists(file)) return file;
  }
  throw new InputError(`${path.join(dir, WEIGHTS_FILE)}: file not found (nor ${NPZ_WEIGHTS_FILE}, Gemma Scope's weights)`);
}

/** Each tensor's shape, from the file's header; and a reader of the named tensors. */
async function weightsFileReader(file: string) {
  if (file.endsWith('.npz')) {
    const entries = await readNpzHeader(file);
    return {
      shapes: new Map([...entries].map(([name, entry]) => [name, entry.shape])),
      read: (names: string[]): Promise<Map<string, WeightArray>> => readNpz(file, names),
    };
  }
  const header = await readSafetensorsHeader(file);
  return {
    shapes: new Map([...header.tensors].map(([name, entry]) => [name, entry.shape])),
    read: (names: string[]): Promise<Map<string, WeightArray>> => readSafetensors(file, { only: (name) => names.includes(name) }),
  };
}

async function readWeights(file: string, cfg: SaeConfig): Promise<Map<string, WeightArray>> {
  const { expected, read } = await checkedWeightsFile(file, cfg);
  const tensors = await read([...expected.keys()]);
  for (const [name, tensor] of tensors) checkFinite(tensor, name, file);
  return tensors;
}

/** The weights file's reader, once its header has every tensor the cfg asks for, in its shape, and no other. */
async function checkedWeightsFile(file: string, cfg: SaeConfig) {
  const { shapes, read } = await weightsFileReader(file);
  const expected = expectedShapes(cfg);
  const required = [...expected.keys()];

  for (const name of required) {
    if (!shapes.has(name)) {
      throw new InputError(`${file}: tensor "${name}" is missing; a ${cfg.architecture} SAE needs ${required.join(', ')}`);
    }
  }
  for (const name of shapes.keys()) {
    // A tensor we would not use usually means the cfg names the wrong architecture (e.g. a threshold in a "standard" SAE).
    if (!expected.has(name) && name !== FINETUNING_SCALE) {
      throw new InputError(`${file}: unexpected tensor "${name}" for a ${cfg.architecture} SAE (which has ${required.join(', ')}); is cfg.json's architecture right?`);
    }
  }
  if (shapes.has(FINETUNING_SCALE)) expected.set(FINETUNING_SCALE, { shape: [cfg.dSae], dims: 'd_sae' });
  for (const [name, { shape, dims }] of expected) {
    const actual = shapes.get(name)!;
    if (!sameShape(actual, shape)) {
      throw new InputError(`${file}: tensor "${name}" has shape [${actual.join(', ')}], expected [${dims}] = [${shape.join(', ')}] from cfg.json`);
    }
  }
  return { expected, shapes, read };
}

/** log10 feature densities; -Infinity (a feature never seen firing) is allowed, NaN is not. */
async function readSparsity(file: string, cfg: SaeConfig): Promise<Float32Array | undefined> {
  if (!(await fileExists(file))) return undefined;
  const tensors = await readSafetensors(file, { only: (name) => name === 'sparsity' });
  const sparsity = tensors.get('sparsity');
  if (!sparsity) throw new InputError(`${file}: tensor "sparsity" is missing`);
  if (sparsity.data.length !== cfg.dSae) {
    throw new InputError(`${file}: tensor "sparsity" has shape [${sparsity.shape.join(', ')}], expected [d_sae] = [${cfg.dSae}]`);
  }
  const bad = sparsity.data.findIndex((v) => Number.isNaN(v) || v === Infinity);
  if (bad >= 0) throw new InputError(`${file}: tensor "sparsity" has ${sparsity.data[bad]} at feature ${bad}`);
  return sparsity.data;
}

/** `firstRow`: where `data` starts in the tensor, when it holds only some of its rows. */
function checkFinite({ data, shape }: WeightArray, name: string, file: string, firstRow = 0): void {
  const bad = data.findIndex((v) => !Number.isFinite(v));
  if (bad < 0) return;
  const count = data.reduce((n, v) => (Number.isFinite(v) ? n : n + 1), 0);
  const at = shape.length === 2 ? `[${firstRow + Math.floor(bad / shape[1])}, ${bad % shape[1]}]` : `[${bad}]`;
  throw new InputError(`${file}: tensor "${name}" contains ${count} non-finite value(s), the first ${data[bad]} at ${at}`);
}

function euclideanNorm(values: Float32Array): number {
  let sum = 0;
  for (const v of values) sum += v * v;
  return Math.sqrt(sum);
}

function multiply(values: Float32Array, factor: number): void {
  for (let i = 0; i < values.length; i++) values[i] *= factor;
}

function sameShape(a: number[], b: number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/** What validateSaeForModel needs to know about a model (a LanguageModel's hookNames and config provide it). */
export interface SaeHostModel {
  hookNames: readonly string[];
  dModel: number;
  /** width of `blocks.L.mlp.hook_pre` / `hook_pre_linear` / `hook_post`; needed only for SAEs on those hooks */
  dMlp?: number;
  /** needed only for SAEs on attention heads (`attn.hook_q/k/v/z`) */
  nHeads?: number;
  nKvHeads?: number;
}

/**
 * Checks that the SAE can be attached to the model: its input hook (and a transcoder's output hook) exist there and
 * have widths d_in (and d_out). A per-head hook's width is its heads concatenated, as reshape_activations "hook_z" reads it.
 */
export function validateSaeForModel(sae: Sae, model: SaeHostModel): void {
  const { hookName, hookNameOut, hookHeadIndex, reshapeActivations } = sae.cfg;
  if (hookHeadIndex !== null) {
    throw new InputError(`SAE on a single attention head (hook_head_index ${hookHeadIndex} of "${hookName}") is not supported`);
  }
  const transcoder = hookNameOut !== hookName || TRANSCODER_ARCHITECTURES.includes(sae.cfg.architecture);
  const sites = transcoder
    ? [{ hook: hookName, width: sae.dIn, dim: 'd_in', field: 'hook_name' }, { hook: hookNameOut, width: sae.cfg.dOut, dim: 'd_out', field: 'hook_name_out' }]
    : [{ hook: hookName, width: sae.dIn, dim: 'd_in', field: 'hook_name' }];
  for (const { hook, width, dim, field } of sites) {
    checkHookExists(hook, field, model);
    const perHead = /\.attn\.hook_(q|k|v|z)$/.exec(hook);
    if (/\.attn\.hook_(pattern|attn_scores)$/.test(hook)) {
      throw new InputError(`SAE hook "${hook}" (cfg.json ${field}) holds attention patterns, [head, query, key], not one vector per token`);
    }
    if (perHead && reshapeActivations !== 'hook_z') {
      throw new InputError(`SAE hook "${hook}" (cfg.json ${field}) is per attention head; an SAE there needs reshape_activations "hook_z"`);
    }
    const [expected, what] = hookWidth(hook, model);
    if (width !== expected) {
      throw new InputError(`SAE ${dim} = ${width} does not match the width of "${hook}" in this model (${what} = ${expected})`);
    }
  }
}

function checkHookExists(hook: string, field: string, model: SaeHostModel): void {
  if (model.hookNames.includes(hook)) return;
  const kind = hook.replace(/^blocks\.\d+\./, '');
  const sameKind = model.hookNames.filter((h) => h.replace(/^blocks\.\d+\./, '') === kind);
  const hint = sameKind.length
    ? `hooks of this kind here: ${sameKind.join(', ')}`
    : `its hooks include ${model.hookNames.slice(0, 8).join(', ')}${model.hookNames.length > 8 ? ', …' : ''}`;
  throw new InputError(`SAE hook "${hook}" (cfg.json ${field}) does not exist in this model; ${hint}`);
}

/** The width of one token's activation at `hook` (heads concatenated), and how it is named. */
function hookWidth(hook: string, model: SaeHostModel): [number, string] {
  const need = (value: number | undefined, name: string): number => {
    if (value === undefined) throw new Error(`validateSaeForModel: ${name} is needed to check an SAE on ${hook}`);
    return value;
  };
  if (/\.mlp\.hook_(pre|pre_linear|post)$/.test(hook)) return [need(model.dMlp, 'dMlp'), 'd_mlp'];
  if (/\.attn\.hook_(k|v)$/.test(hook)) {
    const dHead = model.dModel / need(model.nHeads, 'nHeads');
    return [need(model.nKvHeads, 'nKvHeads') * dHead, 'n_kv_heads·d_head'];
  }
  if (/\.attn\.hook_(q|z)$/.test(hook)) return [model.dModel, 'n_heads·d_head'];
  return [model.dModel, 'd_model'];
}

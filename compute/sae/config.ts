import { z } from 'zod';
import { InputError } from '../errors';

/**
 * SAELens `cfg.json`, in both shapes found in published SAEs:
 * - 6.x: top-level `architecture`, `d_in`, `d_sae`, `apply_b_dec_to_input`, `normalize_activations`, topk's `k`,
 *   and the model/data fields under `metadata` {hook_name, model_name, prepend_bos, context_size, ...};
 * - before 6.0: everything flat at the top level, plus `hook_layer`, `activation_fn_str` (relu | topk) with
 *   `activation_fn_kwargs.k`, `finetuning_scaling_factor`, and `normalize_activations` possibly a bool.
 * Both are normalised into one SaeConfig.
 */

export const SAE_ARCHITECTURES = [
  'standard', 'topk', 'jumprelu', 'gated',
  'transcoder', 'skip_transcoder', 'jumprelu_transcoder', 'jumprelu_skip_transcoder',
] as const;
export type SaeArchitecture = (typeof SAE_ARCHITECTURES)[number];

/**
 * Transcoders (SAELens Transcoder, SkipTranscoder, JumpReLU variants): encode the activation at `hook_name`, decode
 * to `hook_name_out` ([d_sae, d_out] decoder, b_dec of width d_out, never subtracted from the input); a skip
 * transcoder adds x·W_skipᵀ.
 */
export const TRANSCODER_ARCHITECTURES: readonly SaeArchitecture[] = ['transcoder', 'skip_transcoder', 'jumprelu_transcoder', 'jumprelu_skip_transcoder'];

/**
 * Architectures SAELens names in cfg.json that we cannot read, and why. BatchTopK and Matryoshka SAEs are trained
 * under these names but saved for inference as `jumprelu` (with a threshold), which we read.
 */
const UNREADABLE_ARCHITECTURES: Record<string, string> = {
  batchtopk: 'a BatchTopK training checkpoint; SAELens saves the finished SAE as "jumprelu", load that one',
  matryoshka_batchtopk: 'a Matryoshka BatchTopK training checkpoint; SAELens saves the finished SAE as "jumprelu", load that one',
  temporal: 'a temporal SAE (its encoding depends on earlier tokens) is not supported',
  matching_pursuit: 'a matching-pursuit SAE (iterative encoding) is not supported',
  clt: 'a cross-layer transcoder (one encoder per layer, decoders to every later layer) is not supported',
};

/** SAELens reshape_activations: "hook_z" concatenates the attention heads of a [batch, pos, head, d_head] hook. */
export const RESHAPE_ACTIVATIONS = ['none', 'hook_z'] as const;
export type ReshapeActivations = (typeof RESHAPE_ACTIVATIONS)[number];

export const NORMALIZE_ACTIVATIONS = ['none', 'expected_average_only_in', 'constant_norm_rescale', 'layer_norm'] as const;
export type NormalizeActivations = (typeof NORMALIZE_ACTIVATIONS)[number];

export interface SaeConfig {
  architecture: SaeArchitecture;
  dIn: number;
  dSae: number;
  /** the decoder's width: d_in for an SAE, cfg `d_out` for a transcoder */
  dOut: number;
  /** the dtype the SAE was saved in (e.g. "float32", "bfloat16"); we always compute in float32 */
  dtype: string;
  /** subtract b_dec from the (normalised) input before encoding: SAELens's "tied decoder bias" */
  applyBDecToInput: boolean;
  normalizeActivations: NormalizeActivations;
  /**
   * expected_average_only_in: the input scale the SAE was trained with (cfg `norm_scaling_factor`, or given to
   * loadSae). loadSae folds it into the weights, as SAELens `from_pretrained` does, and then reports
   * `normalizeActivations: 'none'`; this field keeps the factor that was folded.
   */
  normScalingFactor: number | null;
  /** topk: features kept per token */
  k?: number;
  /**
   * topk (SAELens 6): rank pre-activations scaled by the decoder row norms, and divide them back out to decode.
   * loadSae folds this into the weights (unit-norm W_dec rows) and then reports false; `raw` keeps the file's value.
   */
  rescaleActsByDecoderNorm: boolean;
  /** pre-6.0: feature activations are multiplied by the `scaling_factor` tensor before decoding */
  finetuningScalingFactor: boolean;
  /** where the SAE reads (TransformerLens hook name) */
  hookName: string;
  /** where the decoder writes: hookName for an SAE, cfg `hook_name_out` for a transcoder */
  hookNameOut: string;
  /** "hook_z": the input hook is per-head, [batch, pos, head, d_head], read with the heads concatenated */
  reshapeActivations: ReshapeActivations;
  /** from `hook_layer`, else parsed from `blocks.L.` in the hook name; null for e.g. `hook_embed` */
  hookLayer: number | null;
  hookHeadIndex: number | null;
  prependBos: boolean;
  contextSize: number | null;
  modelName: string | null;
  datasetPath: string | null;
  neuronpediaId: string | null;
  /** which cfg.json shape it was read from */
  format: 'saelens-6' | 'saelens-legacy';
  /** the cfg.json object as read */
  raw: Record<string, unknown>;
}

/** Keys that SAELens 6 keeps under `metadata` and older versions keep at the top level. */
const METADATA_KEYS = [
  'model_name', 'hook_name', 'hook_layer', 'hook_head_index', 'prepend_bos', 'context_size', 'dataset_path',
  'neuronpedia_id', 'sae_lens_version',
] as const;

/** A transcoder's output hook: at the top level in SAELens's transcoder configs, under `metadata` in some exports. */
const OUTPUT_HOOK_KEYS = ['hook_name_out', 'hook_layer_out', 'hook_head_index_out'] as const;

/** Pre-6.0 names of the same fields (SAELens renames them when loading old configs). */
const LEGACY_NAMES: Record<string, string> = {
  hook_point: 'hook_name',
  hook_point_head_index: 'hook_head_index',
  activation_fn_str: 'activation_fn',
};

const optionalString = z.string().nullable().optional();

const flatSchema = z.looseObject({
  architecture: z.string().optional(),
  d_in: z.int().positive(),
  d_sae: z.int().positive(),
  dtype: z.string().optional(),
  apply_b_dec_to_input: z.boolean().optional(),
  normalize_activations: z.union([z.enum(NORMALIZE_ACTIVATIONS), z.boolean(), z.null()]).optional(),
  norm_scaling_factor: z.number().positive().nullable().optional(),
  reshape_activations: z.enum(RESHAPE_ACTIVATIONS).nullable().optional(),
  d_out: z.int().positive().optional(),
  hook_name_out: z.string().min(1).optional(),
  k: z.int().positive().optional(),
  rescale_acts_by_decoder_norm: z.boolean().optional(),
  activation_fn: z.string().optional(),
  activation_fn_kwargs: z.looseObject({ k: z.int().positive().optional() }).nullable().optional(),
  finetuning_scaling_factor: z.boolean().optional(),
  hook_name: z.string().min(1),
  hook_layer: z.int().nonnegative().nullable().optional(),
  hook_head_index: z.int().nonnegative().nullable().optional(),
  prepend_bos: z.boolean().optional(),
  context_size: z.int().positive().nullable().optional(),
  model_name: optionalString,
  dataset_path: optionalString,
  neuronpedia_id: optionalString,
  sae_lens_version: optionalString,
});

/**
 * Parses a cfg.json object. `source` names the file in error messages, which also name the offending field
 * as it is spelled in the file (e.g. `metadata.hook_name`, `activation_fn_str`).
 */
export function parseSaeConfig(raw: unknown, source = 'cfg.json'): SaeConfig {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new InputError(`${source}: must be a JSON object`);
  const cfg = raw as Record<string, unknown>;
  const { flat, fieldPath } = flatten(cfg);
  const fail = (field: string, problem: string): never => {
    throw new InputError(`${source}: field "${fieldPath(field)}": ${problem}`);
  };

  const parsed = flatSchema.safeParse(flat);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const field = String(issue.path[0]);
    const rest = issue.path.slice(1).map(String);
    const value = issue.path.reduce<unknown>((v, key) => (v as Record<PropertyKey, unknown> | undefined)?.[key], flat);
    const got = value === undefined ? 'missing' : `got ${JSON.stringify(value)}`;
    throw new InputError(`${source}: field "${[fieldPath(field), ...rest].join('.')}": ${issue.message} (${got})`);
  }
  const c = parsed.data;

  const activationFn = c.activation_fn ?? 'relu';
  if (activationFn !== 'relu' && activationFn !== 'topk') {
    fail('activation_fn', `activation function "${activationFn}" is not supported (relu or topk)`);
  }
  // Before 6.0 a topk SAE was a "standard" SAE whose activation function was topk.
  let architecture = c.architecture ?? 'standard';
  if (activationFn === 'topk') {
    if (architecture !== 'standard' && architecture !== 'topk') fail('activation_fn', `topk cannot be combined with architecture "${architecture}"`);
    architecture = 'topk';
  }
  if (architecture in UNREADABLE_ARCHITECTURES) fail('architecture', `"${architecture}" is ${UNREADABLE_ARCHITECTURES[architecture]}`);
  if (!(SAE_ARCHITECTURES as readonly string[]).includes(architecture)) {
    fail('architecture', `unknown SAE architecture "${architecture}" (supported: ${SAE_ARCHITECTURES.join(', ')})`);
  }
  const transcoder = TRANSCODER_ARCHITECTURES.includes(architecture as SaeArchitecture);
  if (transcoder) {
    if (c.d_out === undefined) fail('d_out', `a ${architecture} needs d_out, the width of its output hook`);
    if (c.hook_name_out === undefined) fail('hook_name_out', `a ${architecture} needs hook_name_out, the hook it writes to`);
    if (c.apply_b_dec_to_input) fail('apply_b_dec_to_input', 'a transcoder never subtracts its output bias b_dec from its input');
  } else {
    for (const field of ['d_out', 'hook_name_out'] as const) {
      if (c[field] !== undefined) fail(field, `only transcoders have ${field}; is architecture "${architecture}" right?`);
    }
  }
  // Before reshape_activations (SAELens 6) a hook_z SAE was recognised by its hook name.
  const reshapeActivations = c.reshape_activations ?? (c.hook_name.endsWith('.hook_z') ? 'hook_z' : 'none');
  if (reshapeActivations === 'hook_z' && !c.hook_name.endsWith('.hook_z')) {
    fail('reshape_activations', `"hook_z" concatenates attention heads, but hook_name is "${c.hook_name}", not an attn.hook_z`);
  }

  let k: number | undefined;
  if (architecture === 'topk') {
    k = c.k ?? c.activation_fn_kwargs?.k;
    if (k === undefined) fail('k', 'a topk SAE needs k (top-level `k`, or `activation_fn_kwargs.k` before SAELens 6)');
    if (k! > c.d_sae) fail('k', `k = ${k} exceeds d_sae = ${c.d_sae}`);
  }

  // SAELens treats a boolean here as the pre-"expected_average_only_in" spelling of the same option.
  const normalize = c.normalize_activations;
  const normalizeActivations: NormalizeActivations =
    normalize === true ? 'expected_average_only_in' : normalize === false || normalize == null ? 'none' : normalize;
  if (transcoder && normalizeActivations !== 'none') {
    fail('normalize_activations', `"${normalizeActivations}" is not supported for a transcoder (its input and output scales differ)`);
  }

  const hookLayer = c.hook_layer ?? layerOfHook(c.hook_name);
  return {
    architecture: architecture as SaeArchitecture,
    dIn: c.d_in,
    dSae: c.d_sae,
    dOut: c.d_out ?? c.d_in,
    dtype: c.dtype ?? 'float32',
    applyBDecToInput: c.apply_b_dec_to_input ?? !transcoder,
    normalizeActivations,
    normScalingFactor: c.norm_scaling_factor ?? null,
    ...(k !== undefined && { k }),
    rescaleActsByDecoderNorm: architecture === 'topk' && (c.rescale_acts_by_decoder_norm ?? false),
    finetuningScalingFactor: c.finetuning_scaling_factor ?? false,
    hookName: c.hook_name,
    hookNameOut: c.hook_name_out ?? c.hook_name,
    reshapeActivations,
    hookLayer,
    hookHeadIndex: c.hook_head_index ?? null,
    prependBos: c.prepend_bos ?? true,
    contextSize: c.context_size ?? null,
    modelName: c.model_name ?? null,
    datasetPath: c.dataset_path ?? null,
    neuronpediaId: c.neuronpedia_id ?? null,
    format: isPlainObject(cfg.metadata) ? 'saelens-6' : 'saelens-legacy',
    raw: cfg,
  };
}

/**
 * One flat view of both layouts: metadata fields lifted to the top level, legacy names renamed.
 * `fieldPath` maps a flat key back to where it was found, for error messages.
 */
function flatten(cfg: Record<string, unknown>): { flat: Record<string, unknown>; fieldPath: (key: string) => string } {
  const flat: Record<string, unknown> = {};
  const origin = new Map<string, string>();
  for (const [key, value] of Object.entries(cfg)) {
    if (key === 'metadata') continue;
    const name = LEGACY_NAMES[key] ?? key;
    flat[name] = value;
    origin.set(name, key);
  }
  if (isPlainObject(cfg.metadata)) {
    for (const key of [...METADATA_KEYS, ...OUTPUT_HOOK_KEYS]) {
      if (key in cfg.metadata) {
        flat[key] = cfg.metadata[key];
        origin.set(key, `metadata.${key}`);
      }
    }
  }
  const fieldPath = (key: string) => origin.get(key) ?? (isPlainObject(cfg.metadata) && (METADATA_KEYS as readonly string[]).includes(key) ? `metadata.${key}` : key);
  return { flat, fieldPath };
}

/** The block of a hook name (`blocks.L.…`); null for the hooks outside the blocks (embeddings, final norm). */
export function layerOfHook(hookName: string): number | null {
  const match = /^blocks\.(\d+)\./.exec(hookName);
  return match ? Number(match[1]) : null;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { InputError } from '../errors';
import { readJsonObject } from '../json-file';
import { huggingFaceDirectoryTokenizer } from '../tokenizer/load';
import type { Tokenizer } from '../tokenizer/types';
import { readShardedSafetensors, type SafetensorsTensor } from '../weights/safetensors';
import { Gpt2Model, type Conv1DWeights, type Gpt2Config, type Gpt2Weights, type LayerNormWeights } from './gpt2';
import { LlamaModel, type LlamaConfig, type LlamaWeights } from './llama';
import type { LanguageModel, ModelConfig } from './types';

type HfConfig = Record<string, unknown>;

/**
 * Loads a Hugging Face checkpoint directory: `config.json` plus `model.safetensors` or a sharded
 * `model.safetensors.index.json`, for `model_type` gpt2 and llama. F16/BF16 weights are computed in F32.
 * The tokenizer is the directory's `tokenizer.json`, or GPT-2's BPE for a gpt2 model without one.
 */
export async function loadHuggingFaceModel(dir: string): Promise<LanguageModel> {
  const configFile = path.join(dir, 'config.json');
  const config = await readJsonObject(configFile);
  if (!config) throw new InputError(`${dir}: no config.json`);
  const settings = new ConfigReader(config, configFile);
  switch (config.model_type) {
    case 'gpt2':
      return loadGpt2(dir, settings, config);
    case 'llama':
      return loadLlama(dir, settings, config);
    default:
      throw new InputError(`${configFile}: model_type ${JSON.stringify(config.model_type)} is not supported (supported: gpt2, llama)`);
  }
}

async function loadGpt2(dir: string, settings: ConfigReader, config: HfConfig): Promise<Gpt2Model> {
  const activation = settings.string('activation_function', 'gelu_new');
  if (activation !== 'gelu_new' && activation !== 'gelu_pytorch_tanh') {
    throw new InputError(`${settings.file}: activation_function "${activation}" is not supported (only the tanh GELU, gelu_new)`);
  }
  if (settings.flag('scale_attn_by_inverse_layer_idx', false) || !settings.flag('scale_attn_weights', true)) {
    throw new InputError(`${settings.file}: only the standard 1/sqrt(head_dim) attention scaling is supported`);
  }
  const d = settings.positiveInt('n_embd');
  const nHeads = settings.positiveInt('n_head');
  if (d % nHeads !== 0) throw new InputError(`${settings.file}: n_embd ${d} does not split into ${nHeads} heads`);
  const cfg: Gpt2Config = {
    architecture: 'gpt2',
    dModel: d,
    nLayers: settings.positiveInt('n_layer'),
    nHeads,
    nKvHeads: nHeads,
    dMlp: settings.positiveInt('n_inner', 4 * d),
    vocabSize: settings.positiveInt('vocab_size'),
    contextLength: settings.positiveInt('n_positions'),
    layerNormEps: settings.number('layer_norm_epsilon', 1e-5),
  };
  const tokenizer = await tokenizerFor(dir, config, cfg);

  const layerNorm = (name: string) => ({ [`${name}.weight`]: [d], [`${name}.bias`]: [d] });
  const conv1d = (name: string, dIn: number, dOut: number) => ({ [`${name}.weight`]: [dIn, dOut], [`${name}.bias`]: [dOut] });
  const shapes: Record<string, number[]> = {
    'wte.weight': [cfg.vocabSize, d],
    'wpe.weight': [cfg.contextLength, d],
    ...layerNorm('ln_f'),
  };
  for (let i = 0; i < cfg.nLayers; i++) {
    Object.assign(
      shapes,
      layerNorm(`h.${i}.ln_1`),
      conv1d(`h.${i}.attn.c_attn`, d, 3 * d),
      conv1d(`h.${i}.attn.c_proj`, d, d),
      layerNorm(`h.${i}.ln_2`),
      conv1d(`h.${i}.mlp.c_fc`, d, cfg.dMlp),
      conv1d(`h.${i}.mlp.c_proj`, cfg.dMlp, d),
    );
  }
  const checkpoint = await Checkpoint.read(dir, shapes, { shape: [cfg.vocabSize, d], tied: settings.flag('tie_word_embeddings', true) });
  return checkpoint.build((w) => {
    const ln = (name: string): LayerNormWeights => ({ weight: w(`${name}.weight`), bias: w(`${name}.bias`) });
    const conv = (name: string): Conv1DWeights => ({ weight: w(`${name}.weight`), bias: w(`${name}.bias`) });
    const weights: Gpt2Weights = {
      tokenEmbedding: w('wte.weight'),
      positionEmbedding: w('wpe.weight'),
      blocks: Array.from({ length: cfg.nLayers }, (_, i) => ({
        ln1: ln(`h.${i}.ln_1`),
        attnQkv: conv(`h.${i}.attn.c_attn`),
        attnOut: conv(`h.${i}.attn.c_proj`),
        ln2: ln(`h.${i}.ln_2`),
        mlpIn: conv(`h.${i}.mlp.c_fc`),
        mlpOut: conv(`h.${i}.mlp.c_proj`),
      })),
      lnFinal: ln('ln_f'),
      lmHead: checkpoint.has('lm_head.weight') ? w<tf.Tensor2D>('lm_head.weight') : undefined,
    };
    return new Gpt2Model(cfg, weights, tokenizer);
  });
}

async function loadLlama(dir: string, settings: ConfigReader, config: HfConfig): Promise<LlamaModel> {
  if (settings.string('hidden_act', 'silu') !== 'silu') throw new InputError(`${settings.file}: hidden_act must be silu`);
  if (config.rope_scaling != null) throw new InputError(`${settings.file}: rope_scaling is not supported`);
  if (settings.flag('attention_bias', false) || settings.flag('mlp_bias', false)) {
    throw new InputError(`${settings.file}: attention_bias / mlp_bias are not supported`);
  }
  const d = settings.positiveInt('hidden_size');
  const nHeads = settings.positiveInt('num_attention_heads');
  const headDim = d / nHeads;
  if (settings.number('head_dim', headDim) !== headDim) {
    throw new InputError(`${settings.file}: head_dim other than hidden_size / num_attention_heads is not supported`);
  }
  const cfg: LlamaConfig = {
    architecture: 'llama',
    dModel: d,
    nLayers: settings.positiveInt('num_hidden_layers'),
    nHeads,
    nKvHeads: settings.positiveInt('num_key_value_heads', nHeads),
    dMlp: settings.positiveInt('intermediate_size'),
    vocabSize: settings.positiveInt('vocab_size'),
    contextLength: settings.positiveInt('max_position_embeddings'),
    rmsNormEps: settings.number('rms_norm_eps', 1e-6),
    ropeTheta: settings.number('rope_theta', 10000),
  };
  const tokenizer = await tokenizerFor(dir, config, cfg);

  const kvDim = cfg.nKvHeads * headDim;
  const shapes: Record<string, number[]> = { 'embed_tokens.weight': [cfg.vocabSize, d], 'norm.weight': [d] };
  for (let i = 0; i < cfg.nLayers; i++) {
    Object.assign(shapes, {
      [`layers.${i}.input_layernorm.weight`]: [d],
      [`layers.${i}.self_attn.q_proj.weight`]: [d, d],
      [`layers.${i}.self_attn.k_proj.weight`]: [kvDim, d],
      [`layers.${i}.self_attn.v_proj.weight`]: [kvDim, d],
      [`layers.${i}.self_attn.o_proj.weight`]: [d, d],
      [`layers.${i}.post_attention_layernorm.weight`]: [d],
      [`layers.${i}.mlp.gate_proj.weight`]: [cfg.dMlp, d],
      [`layers.${i}.mlp.up_proj.weight`]: [cfg.dMlp, d],
      [`layers.${i}.mlp.down_proj.weight`]: [d, cfg.dMlp],
    });
  }
  const checkpoint = await Checkpoint.read(dir, shapes, { shape: [cfg.vocabSize, d], tied: settings.flag('tie_word_embeddings', false) });
  // HF rotates q/k halves (rotate_half); LlamaModel rotates interleaved pairs as llama2.c does
  checkpoint.permuteRows(/self_attn\.[qk]_proj\.weight$/, (row) => rotateHalfRowOf(row, headDim));
  return checkpoint.build((w) => {
    const tokenEmbedding = w<tf.Tensor2D>('embed_tokens.weight');
    const weights: LlamaWeights = {
      tokenEmbedding,
      blocks: Array.from({ length: cfg.nLayers }, (_, i) => ({
        attnNorm: w(`layers.${i}.input_layernorm.weight`),
        wq: w(`layers.${i}.self_attn.q_proj.weight`),
        wk: w(`layers.${i}.self_attn.k_proj.weight`),
        wv: w(`layers.${i}.self_attn.v_proj.weight`),
        wo: w(`layers.${i}.self_attn.o_proj.weight`),
        mlpNorm: w(`layers.${i}.post_attention_layernorm.weight`),
        w1: w(`layers.${i}.mlp.gate_proj.weight`),
        w2: w(`layers.${i}.mlp.down_proj.weight`),
        w3: w(`layers.${i}.mlp.up_proj.weight`),
      })),
      finalNorm: w('norm.weight'),
      classifier: checkpoint.has('lm_head.weight') ? w('lm_head.weight') : tokenEmbedding,
    };
    return new LlamaModel(cfg, weights, tokenizer);
  });
}

/**
 * The HF (rotate_half) row that becomes interleaved-order row `row` of a q/k projection: within each
 * head, the interleaved pair (2i, 2i+1) is HF's rows (i, i + headDim/2). This inverts the `permute`
 * of HF's convert_llama_weights_to_hf.py.
 */
function rotateHalfRowOf(row: number, headDim: number): number {
  const head = Math.floor(row / headDim);
  const within = row % headDim;
  return head * headDim + (within % 2) * (headDim / 2) + Math.floor(within / 2);
}

async function tokenizerFor(dir: string, config: HfConfig, cfg: ModelConfig): Promise<Tokenizer> {
  const tokenizer = await huggingFaceDirectoryTokenizer(dir, config);
  if (tokenizer.vocabSize > cfg.vocabSize) {
    throw new InputError(`${dir}: the tokenizer has ${tokenizer.vocabSize} tokens, more than the model's vocab_size ${cfg.vocabSize}`);
  }
  return tokenizer;
}

const KEY_PREFIX = /^(transformer|model)\./;

/**
 * The tensors of a checkpoint, by name without the `transformer.` / `model.` prefix, checked against the
 * shapes the config implies before any of them becomes a tf tensor.
 */
class Checkpoint {
  private constructor(private readonly arrays: Map<string, SafetensorsTensor>) {}

  /** `shapes`: every parameter but lm_head.weight, which is read when present and required unless tied. */
  static async read(dir: string, shapes: Record<string, number[]>, unembedding: { shape: number[]; tied: boolean }): Promise<Checkpoint> {
    const wanted = new Set([...Object.keys(shapes), 'lm_head.weight']);
    // Only the parameters are read: buffers such as attn.bias (the causal mask) or inv_freq are skipped.
    const stored = await readShardedSafetensors(dir, { only: (name) => wanted.has(name.replace(KEY_PREFIX, '')) });
    const arrays = new Map([...stored].map(([name, tensor]) => [name.replace(KEY_PREFIX, ''), tensor]));
    const expected = arrays.has('lm_head.weight') || !unembedding.tied ? { ...shapes, 'lm_head.weight': unembedding.shape } : shapes;
    for (const [name, shape] of Object.entries(expected)) {
      const tensor = arrays.get(name);
      if (!tensor) throw new InputError(`${dir}: tensor "${name}" is missing from the checkpoint (expected shape [${shape}])`);
      if (!tf.util.arraysEqual(tensor.shape, shape)) {
        throw new InputError(`${dir}: tensor "${name}" has shape [${tensor.shape}], expected [${shape}] from config.json`);
      }
    }
    return new Checkpoint(arrays);
  }

  has(name: string): boolean {
    return this.arrays.has(name);
  }

  /** Reorders the rows of every matching 2-D tensor: new row r is old row `sourceRow(r)`. */
  permuteRows(names: RegExp, sourceRow: (row: number) => number): void {
    for (const [name, tensor] of this.arrays) {
      if (!names.test(name)) continue;
      const [rows, cols] = tensor.shape;
      const data = new Float32Array(tensor.data.length);
      for (let r = 0; r < rows; r++) data.set(tensor.data.subarray(sourceRow(r) * cols, (sourceRow(r) + 1) * cols), r * cols);
      this.arrays.set(name, { ...tensor, data });
    }
  }

  /** Runs `build` with a maker of tf tensors from the checked arrays; if it throws, frees the tensors made so far. */
  build<M>(build: (tensor: <T extends tf.Tensor>(name: string) => T) => M): M {
    const made: tf.Tensor[] = [];
    const tensor = <T extends tf.Tensor>(name: string): T => {
      const { data, shape } = this.arrays.get(name)!;
      made.push(tf.tensor(data, shape, 'float32'));
      return made[made.length - 1] as T;
    };
    try {
      return build(tensor);
    } catch (err) {
      tf.dispose(made);
      throw err;
    }
  }
}

/** Typed reads of config.json values, with errors that name the key; null counts as absent. */
class ConfigReader {
  constructor(
    private readonly config: HfConfig,
    readonly file: string,
  ) {}

  positiveInt(key: string, fallback?: number): number {
    const value = this.read(key, 'number', fallback);
    if (!Number.isInteger(value) || value <= 0) {
      throw new InputError(`${this.file}: "${key}" must be a positive integer, got ${JSON.stringify(value)}`);
    }
    return value;
  }

  number(key: string, fallback: number): number {
    return this.read(key, 'number', fallback);
  }

  flag(key: string, fallback: boolean): boolean {
    return this.read(key, 'boolean', fallback);
  }

  string(key: string, fallback: string): string {
    return this.read(key, 'string', fallback);
  }

  private read<T extends number | boolean | string>(key: string, type: string, fallback: T | undefined): T {
    const value = this.config[key] ?? fallback;
    if (value === undefined) throw new InputError(`${this.file}: "${key}" is missing`);
    if (typeof value !== type) throw new InputError(`${this.file}: "${key}" must be a ${type}, got ${JSON.stringify(value)}`);
    return value as T;
  }
}

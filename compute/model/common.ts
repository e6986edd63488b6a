import * as tf from '@tensorflow/tfjs-core';
import { InputError } from '../errors';
import type { Activation, Decoder, ForwardOptions, ForwardResult, ModelConfig } from './types';

/** Thrown by `HookPoints.at` to unwind the forward pass at `stopAt`; never escapes `HookPoints.run`. */
class StopForward extends Error {}

/**
 * The hook points of one forward pass: runs the caller's hooks, captures activations and stops
 * at `stopAt`. Use inside `run`, which turns the stop into an `undefined` result.
 */
export class HookPoints {
  /** captured activations, owned by the caller once the forward pass returns */
  readonly cache = new Map<string, Activation>();
  private readonly capture: Set<string>;

  constructor(
    hookNames: readonly string[],
    private readonly options: ForwardOptions,
  ) {
    const known = new Set(hookNames);
    const asked = [...(options.capture ?? []), ...Object.keys(options.hooks ?? {}), ...(options.stopAt ? [options.stopAt] : [])];
    const unknown = asked.find((name) => !known.has(name));
    if (unknown !== undefined) {
      throw new InputError(`unknown hook "${unknown}"; this model has ${hookNames[0]} … ${hookNames[hookNames.length - 1]}`);
    }
    this.capture = new Set(options.capture);
  }

  /** Runs `body` (the forward pass); returns undefined when it stopped at `stopAt`. */
  run<T>(body: () => T): T | undefined {
    try {
      return body();
    } catch (err) {
      if (err instanceof StopForward) return undefined;
      tf.dispose([...this.cache.values()]);
      throw err;
    }
  }

  /** Whether anything (a hook, a capture, the stop) looks at hook point `name`; hooks that cost a reshape skip it when not. */
  wants(name: string): boolean {
    return this.capture.has(name) || this.options.hooks?.[name] !== undefined || this.options.stopAt === name;
  }

  /** The activation at hook point `name`: the hook's replacement if it returns one, else `act`. */
  at<T extends Activation>(name: string, act: T): T {
    const replaced = this.options.hooks?.[name]?.(act, name) as T | undefined;
    if (replaced && !tf.util.arraysEqual(replaced.shape, act.shape)) {
      throw new InputError(`hook at ${name} returned shape [${replaced.shape}], expected [${act.shape}]`);
    }
    const out = replaced ?? act;
    // a kept clone survives the forward pass's tf.tidy and is the caller's alone to dispose
    if (this.capture.has(name)) this.cache.set(name, tf.keep(tf.clone(out)));
    if (name === this.options.stopAt) throw new StopForward();
    return out;
  }

  /** The hook points of block `layer`, named without the `blocks.L.` prefix. */
  block(layer: number): BlockHooks {
    return {
      at: (name, act) => this.at(`blocks.${layer}.${name}`, act),
      wants: (name) => this.wants(`blocks.${layer}.${name}`),
    };
  }
}

export interface BlockHooks {
  at<T extends Activation>(name: string, act: T): T;
  wants(name: string): boolean;
}

/**
 * TransformerLens's attention hook points inside a block, in forward order (the model adds `ln1.hook_normalized`
 * before them), all run by `multiHeadAttention`.
 */
export const ATTENTION_HOOKS = ['attn.hook_q', 'attn.hook_k', 'attn.hook_v', 'attn.hook_attn_scores', 'attn.hook_pattern', 'attn.hook_z'] as const;

/** Rejects what no model can run: no tokens, rows of different lengths, too long, ids outside the vocabulary. */
export function validateIds(ids: number[][], config: Pick<ModelConfig, 'contextLength' | 'vocabSize'>): void {
  if (ids.length === 0 || ids[0].length === 0) throw new InputError('empty input: no token ids to run');
  const seq = ids[0].length;
  ids.forEach((row, b) => {
    if (row.length !== seq) throw new InputError(`batch rows differ in length: row 0 has ${seq} tokens, row ${b} has ${row.length}`);
    row.forEach((id, t) => {
      if (!Number.isInteger(id) || id < 0 || id >= config.vocabSize) {
        throw new InputError(`token id ${id} at [${b}][${t}] is outside the vocabulary 0..${config.vocabSize - 1}`);
      }
    });
  });
  if (seq > config.contextLength) {
    throw new InputError(`${seq} tokens is longer than the model's context of ${config.contextLength}`);
  }
}

/**
 * Multi-head attention up to hook_z, shared by every architecture, for a whole sequence or, with `cache`, for the
 * next positions after the cached ones. q: [batch, head, pos, headDim]; k, v: [batch, kvHead, pos, headDim], where
 * each kv head serves nHeads/nKvHeads consecutive query heads (grouped-query attention). Runs the block's attention
 * hooks (ATTENTION_HOOKS, in TransformerLens's shapes); `rotate` is the positional rotation of q and k after their
 * hooks (Llama's RoPE). Returns z with the heads concatenated, [batch, pos, head·headDim].
 */
export function multiHeadAttention(
  q: tf.Tensor4D,
  k: tf.Tensor4D,
  v: tf.Tensor4D,
  hooks: BlockHooks,
  { rotate = (t) => t, cache }: { rotate?: (t: tf.Tensor4D) => tf.Tensor4D; cache?: LayerKvCache } = {},
): tf.Tensor3D {
  const [batch, nHeads, seq, headDim] = q.shape;
  // hook_q/k/v are [batch, pos, head, headDim] as in TransformerLens: transposed there and back only when hooked
  const hooked = (name: string, t: tf.Tensor4D) => (hooks.wants(name) ? swapHeadAndPos(hooks.at(name, swapHeadAndPos(t))) : t);
  const query = rotate(hooked('attn.hook_q', q));
  let keys = rotate(hooked('attn.hook_k', k));
  let values = hooked('attn.hook_v', v);
  if (cache) ({ keys, values } = cache.extend(keys, values));
  const z = hooks.at('attn.hook_z', swapHeadAndPos(causalAttention(query, keys, values, hooks)));
  return tf.reshape(z, [batch, seq, nHeads * headDim]);
}

/** [batch, pos, head, headDim] ⇄ [batch, head, pos, headDim] */
function swapHeadAndPos(t: tf.Tensor4D): tf.Tensor4D {
  return tf.transpose(t, [0, 2, 1, 3]);
}

/**
 * Causal softmax attention. q: [batch, head, pos, headDim]; k, v: [batch, kvHead, keyPos, headDim], where the last
 * `pos` keys are at the queries' positions and any before them earlier (cached) ones.
 * Returns [batch, head, pos, headDim]. Runs the block's `attn.hook_attn_scores` and `attn.hook_pattern`.
 * The `group` query heads of one kv head are consecutive rows of q, so they share one matMul with that head's keys.
 */
function causalAttention(q: tf.Tensor4D, k: tf.Tensor4D, v: tf.Tensor4D, hooks: BlockHooks): tf.Tensor4D {
  const [batch, nHeads, seq, headDim] = q.shape;
  const [, nKv, keyPos] = k.shape;
  const pairs = batch * nKv;
  const rows = (nHeads / nKv) * seq;
  const qs = tf.reshape(tf.mul(q, 1 / Math.sqrt(headDim)), [pairs, rows, headDim]) as tf.Tensor3D;
  // every head's scores at once, so the mask and softmax are one kernel each: [batch·head, pos, keyPos]
  const scores = tf.reshape(matMulPerPair(qs, tf.reshape(k, [pairs, keyPos, headDim]), seq, true), [batch * nHeads, seq, keyPos]);
  // hook_attn_scores and hook_pattern see [batch, head, query_pos, key_pos], the same memory layout
  const perHead = (name: string, t: tf.Tensor): tf.Tensor =>
    hooks.wants(name) ? hooks.at(name, tf.reshape(t, [batch, nHeads, seq, keyPos]) as tf.Tensor4D) : t;
  const masked = perHead('attn.hook_attn_scores', tf.add(scores, causalMask(seq, keyPos)));
  const pattern = perHead('attn.hook_pattern', tf.softmax(tf.reshape(masked, [batch * nHeads, seq, keyPos])));
  const z = matMulPerPair(tf.reshape(pattern, [pairs, rows, keyPos]), tf.reshape(v, [pairs, keyPos, headDim]), seq);
  return tf.reshape(z, [batch, nHeads, seq, headDim]);
}

/**
 * a[i]·b[i] (b[i]ᵀ with `transposeB`) for every (sequence, kv head) pair i: [pairs, m, k]·[pairs, k, n] → [pairs, m, n].
 * Over a whole sequence, as plain 2-D matMuls per pair, which tfjs-wasm runs with XNNPACK: its batched matMul (and any
 * matMul with a transposed operand) is a naive loop several times slower. With one query position per sequence
 * (decoding) the pairs' matMuls are a few rows each, and cutting the operands into pairs would cost far more.
 */
function matMulPerPair(a: tf.Tensor, b: tf.Tensor, queryPositions: number, transposeB = false): tf.Tensor3D {
  if (queryPositions === 1) return tf.matMul(a as tf.Tensor3D, b as tf.Tensor3D, false, transposeB);
  const bs = unstack(transposeB ? tf.transpose(b, [0, 2, 1]) : b) as tf.Tensor2D[];
  return tf.stack((unstack(a) as tf.Tensor2D[]).map((aPair, i) => tf.matMul(aPair, bs[i]))) as tf.Tensor3D;
}

/**
 * tf.unstack along axis 0, by halving: tfjs-wasm's slice (hence unstack and split) copies its whole input for every
 * piece it cuts, so unstacking n pieces at once copies n times the tensor (seconds for a batch's attention scores),
 * halving about 2·log2(n) times.
 */
function unstack(t: tf.Tensor): tf.Tensor[] {
  const n = t.shape[0];
  if (n <= 4) return tf.unstack(t);
  const halves = tf.split(t, [n >> 1, n - (n >> 1)], 0);
  const pieces = halves.flatMap(unstack);
  tf.dispose(halves); // the pieces are copies; free the halves before the next split
  return pieces;
}

/** [pos, keyPos]: 0 where a query may attend (key ≤ query; the queries are the last `pos` keys), −∞ after it. */
function causalMask(seq: number, keyPos: number): tf.Tensor2D {
  const mask = new Float32Array(seq * keyPos);
  const past = keyPos - seq;
  for (let q = 0; q < seq; q++) mask.fill(-Infinity, q * keyPos + past + q + 1, (q + 1) * keyPos);
  return tf.tensor2d(mask, [seq, keyPos]);
}

/** [batch, kvHead, pos, headDim] each */
interface LayerKeysValues {
  keys: tf.Tensor4D;
  values: tf.Tensor4D;
}

/** One layer's share of a KvCache, as `multiHeadAttention` uses it. */
export interface LayerKvCache {
  /** the layer's cached keys and values followed by these (the next positions'), [batch, kvHead, keyPos, headDim] */
  extend(keys: tf.Tensor4D, values: tf.Tensor4D): LayerKeysValues;
}

/**
 * Every layer's keys and values (Llama's after RoPE) of the positions run so far, [batch, kvHead, pos, headDim]: a
 * forward pass over the next positions extends each layer's through `layer(l)` inside `step`, which then makes the
 * extended ones the cache.
 */
export class KvCache {
  /** positions cached */
  length = 0;
  private layers: LayerKeysValues[] = [];
  /** what the step in progress extended */
  private extended: LayerKeysValues[] = [];

  /** sequences cached; undefined before the first step */
  get batch(): number | undefined {
    return this.layers[0]?.keys.shape[0];
  }

  layer(layer: number): LayerKvCache {
    return {
      extend: (keys, values) => {
        const cached = this.layers[layer];
        // kept: the step's forward pass runs in a tf.tidy, and these outlive it
        const extend = (old: tf.Tensor4D | undefined, next: tf.Tensor4D) => tf.keep(old ? tf.concat([old, next], 2) : next);
        this.extended[layer] = { keys: extend(cached?.keys, keys), values: extend(cached?.values, values) };
        return this.extended[layer];
      },
    };
  }

  /** Runs `forward` over the next `positions` positions; the layers it extended become the cache once it returns. */
  step<T>(positions: number, forward: () => T): T {
    this.extended = [];
    try {
      const out = forward();
      this.replace(this.extended);
      this.length += positions;
      return out;
    } catch (err) {
      tf.dispose(this.extended.flatMap(({ keys, values }) => [keys, values]));
      throw err;
    } finally {
      this.extended = [];
    }
  }

  /** keeps only these sequences (row indices of the current batch), in this order */
  select(rows: number[]): void {
    if (this.length === 0) return;
    const index = tf.tensor1d(rows, 'int32');
    const gather = (t: tf.Tensor4D) => tf.gather(t, index, 0) as tf.Tensor4D;
    this.replace(this.layers.map(({ keys, values }) => ({ keys: gather(keys), values: gather(values) })));
    index.dispose();
  }

  dispose(): void {
    this.replace([]);
  }

  private replace(layers: LayerKeysValues[]): void {
    tf.dispose(this.layers.flatMap(({ keys, values }) => [keys, values]));
    this.layers = layers;
  }
}

/**
 * Incremental decoding: each step runs one new position per sequence through the model's forward pass `run` (the
 * same blocks as a whole-sequence forward pass), against the keys and values `cache` holds of the earlier ones, so a
 * sequence of T tokens costs T token-forwards instead of T²/2. `run` returns the logits of the positions it ran,
 * [batch, pos, vocab].
 */
export function kvCacheDecoder(config: ModelConfig, run: (ids: number[][], cache: KvCache) => tf.Tensor3D): Decoder {
  const { contextLength, vocabSize } = config;
  const cache = new KvCache();
  return {
    step: (tokens) => {
      if (cache.length >= contextLength) throw new InputError(`cannot decode past the model's context length ${contextLength}`);
      validateIds([tokens], { contextLength: Infinity, vocabSize });
      if (cache.batch !== undefined && cache.batch !== tokens.length) {
        throw new InputError(`decoder holds ${cache.batch} sequences, got ${tokens.length} tokens`);
      }
      const logits = cache.step(1, () => tf.tidy(() => run(tokens.map((token) => [token]), cache)));
      const out = Float32Array.from(logits.dataSync() as Float32Array);
      logits.dispose();
      return out;
    },
    select: (rows) => cache.select(rows),
    dispose: () => cache.dispose(),
  };
}

/** What every architecture does the same around its `run` (embed, blocks, final norm, unembed): hooks and decoding. */
export abstract class HookedTransformer {
  abstract readonly config: ModelConfig;
  abstract readonly hookNames: readonly string[];
  protected abstract run(ids: number[][], points: HookPoints, cache?: KvCache): tf.Tensor3D;

  /**
   * Runs the model on a batch of equal-length token sequences. Each hook point runs its hook (which may
   * replace the activation), then captures the result (a copy the caller disposes); everything else
   * created here is disposed before returning.
   */
  forward(ids: number[][], options: ForwardOptions = {}): ForwardResult {
    validateIds(ids, this.config);
    const points = new HookPoints(this.hookNames, options);
    const logits = points.run(() => tf.tidy(() => this.run(ids, points)));
    return { logits, cache: points.cache };
  }

  /** Incremental decoding with a key/value cache, through the blocks (and hooks) `forward` runs. */
  decoder({ hooks }: Pick<ForwardOptions, 'hooks'> = {}): Decoder {
    // one set of hook points serves every step: they capture nothing and never stop
    const points = new HookPoints(this.hookNames, { hooks });
    return kvCacheDecoder(this.config, (ids, cache) => this.run(ids, points, cache));
  }
}

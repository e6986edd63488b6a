import * as tf from '@tensorflow/tfjs-core';
import { InputError } from '../errors';
import type { Activation, ForwardOptions, ModelConfig } from './types';

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

/** TransformerLens's attention hook points inside a block, in forward order (the model adds `ln1.hook_normalized` before them). */
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
 * Causal softmax attention. q: [batch, head, pos, headDim]; k, v: [batch, kvHead, pos, headDim], where
 * each kv head serves nHeads/nKvHeads consecutive query heads (grouped-query attention).
 * Returns [batch, head, pos, headDim]. With `hooks`, runs the block's `attn.hook_attn_scores` and `attn.hook_pattern`.
 *
 * Computed with two plain 2-D matMuls per (sequence, kv head), which tfjs-wasm runs with XNNPACK; its batched matMul
 * (and any matMul with a transposed operand) is a naive loop several times slower. The `group` query heads of one kv
 * head are consecutive rows of q, so they share one matMul with that head's keys.
 */
export function causalAttention(q: tf.Tensor4D, k: tf.Tensor4D, v: tf.Tensor4D, hooks?: BlockHooks): tf.Tensor4D {
  const [batch, nHeads, seq, headDim] = q.shape;
  const nKv = k.shape[1];
  const group = nHeads / nKv;
  const pairs = batch * nKv;
  const qs = unstack(tf.reshape(tf.mul(q, 1 / Math.sqrt(headDim)), [pairs, group * seq, headDim])) as tf.Tensor2D[];
  const kTs = unstack(tf.reshape(tf.transpose(k, [0, 1, 3, 2]), [pairs, headDim, seq])) as tf.Tensor2D[];
  const vs = unstack(tf.reshape(v, [pairs, seq, headDim])) as tf.Tensor2D[];
  // every head's scores at once, so the mask and softmax are one kernel each: [batch·head, pos, pos]
  const scores = tf.reshape(tf.stack(qs.map((qBlock, i) => tf.matMul(qBlock, kTs[i]))), [batch * nHeads, seq, seq]);
  // hook_attn_scores and hook_pattern see [batch, head, query_pos, key_pos], the same memory layout
  const perHead = (name: string, t: tf.Tensor): tf.Tensor =>
    hooks?.wants(name) ? hooks.at(name, tf.reshape(t, [batch, nHeads, seq, seq]) as tf.Tensor4D) : t;
  const masked = perHead('attn.hook_attn_scores', tf.add(scores, causalMask(seq)));
  const pattern = perHead('attn.hook_pattern', tf.softmax(tf.reshape(masked, [batch * nHeads, seq, seq])));
  const patterns = unstack(tf.reshape(pattern, [pairs, group * seq, seq])) as tf.Tensor2D[];
  return tf.reshape(tf.stack(patterns.map((pattern, i) => tf.matMul(pattern, vs[i]))), [batch, nHeads, seq, headDim]);
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

/** [pos, pos]: 0 where a query may attend (key ≤ query), −∞ above the diagonal. */
function causalMask(seq: number): tf.Tensor2D {
  const mask = new Float32Array(seq * seq);
  for (let q = 0; q < seq; q++) mask.fill(-Infinity, q * seq + q + 1, (q + 1) * seq);
  return tf.tensor2d(mask, [seq, seq]);
}

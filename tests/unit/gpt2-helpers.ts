import { readFileSync } from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { expect } from 'vitest';
import { FIXTURES_DIR } from '../shared';

/** The reference GPT-2 fixture: a random-weight 2-layer GPT-2 in Hugging Face layout (see fixtures/README.md). */
export const GPT2_TINY_DIR = path.join(FIXTURES_DIR, 'gpt2-tiny-a');

export interface Gpt2Sequence {
  name: string;
  text: string | null;
  ids: number[];
  top5_per_position: [number, number][][];
  last_position_logits: number[];
  per_token_loss: number[];
  loss: number | null;
  last_position_activations: Record<string, number[]>;
}

let expected: { sequences: Gpt2Sequence[] } | undefined;

export function gpt2Expected(): { sequences: Gpt2Sequence[] } {
  expected ??= JSON.parse(readFileSync(path.join(GPT2_TINY_DIR, 'expected.json'), 'utf8'));
  return expected!;
}

export function sequence(name: string): Gpt2Sequence {
  const found = gpt2Expected().sequences.find((s) => s.name === name);
  if (!found) throw new Error(`no fixture sequence ${name}`);
  return found;
}

/** The largest violation of |a-b| <= abs + rel·|b| (≤ 0 when all values are within tolerance). */
export function worstExcess(actual: ArrayLike<number>, wanted: ArrayLike<number>, abs = 1e-4, rel = 1e-4): number {
  expect(actual.length).toBe(wanted.length);
  let worst = -Infinity;
  for (let i = 0; i < wanted.length; i++) {
    worst = Math.max(worst, Math.abs(actual[i] - wanted[i]) - (abs + rel * Math.abs(wanted[i])));
  }
  return worst;
}

export function expectClose(actual: ArrayLike<number>, wanted: ArrayLike<number>, abs = 1e-4, rel = 1e-4): void {
  expect(worstExcess(actual, wanted, abs, rel)).toBeLessThanOrEqual(0);
}

/** logits [B, T, V] as rows: rows[b][pos] is a Float32Array of V values. */
export function logitRows(logits: tf.Tensor3D): Float32Array[][] {
  const [batch, seq, vocab] = logits.shape;
  const all = logits.dataSync() as Float32Array;
  return Array.from({ length: batch }, (_, b) => Array.from({ length: seq }, (_, t) => all.subarray((b * seq + t) * vocab, (b * seq + t + 1) * vocab)));
}

/** Next-token losses -log_softmax(row[t])[ids[t+1]], in float64. */
export function perTokenLoss(rows: Float32Array[], ids: number[]): number[] {
  return ids.slice(1).map((next, t) => {
    const row = rows[t];
    const max = row.reduce((m, v) => Math.max(m, v), -Infinity);
    const logSumExp = max + Math.log(row.reduce((s, v) => s + Math.exp(v - max), 0));
    return logSumExp - row[next];
  });
}

/**
 * Checks our logits at one position against the fixture's top 5, by value: each listed id has the
 * listed logit, and our five largest values are the listed ones (ids may swap where values are within 1e-4).
 */
export function expectTop5(row: Float32Array, top5: [number, number][]): void {
  expectClose(top5.map(([id]) => row[id]), top5.map(([, v]) => v));
  const ours = largest(row, 5);
  expectClose(ours, top5.map(([, v]) => v));
}

/** The k largest values, descending. */
function largest(values: Float32Array, k: number): number[] {
  const top: number[] = [];
  for (const v of values) {
    if (top.length === k && v <= top[k - 1]) continue;
    const at = top.findIndex((t) => v > t);
    top.splice(at === -1 ? top.length : at, 0, v);
    top.length = Math.min(top.length, k);
  }
  return top;
}

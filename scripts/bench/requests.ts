/** What the activation benchmarks share: seeded prompts, and the statistics of their request times. */
import type { LanguageModel } from '@/compute/model/types';
import type { Random } from '@/compute/random';

/** seeded token ids, BOS first, as a prompt tokenized with prepend_bos */
export function prompt(model: LanguageModel, random: Random, length: number): number[] {
  const { vocabSize } = model.config;
  return [model.tokenizer.bosId, ...Array.from({ length: length - 1 }, () => 2 + Math.floor(random() * (vocabSize - 2)))];
}

export function median(xs: number[]): number {
  return quantile(xs, 0.5);
}

export function quantile(xs: number[], q: number): number {
  const sorted = [...xs].sort((a, b) => a - b);
  const at = (sorted.length - 1) * q;
  const lo = Math.floor(at);
  return sorted[lo] + (sorted[Math.ceil(at)] - sorted[lo]) * (at - lo);
}

/** Process CPU time (user + system) and wall time of `fn`, in ms: tfjs-wasm computes on the calling thread. */
export function timed(fn: () => void): { cpuMs: number; wallMs: number } {
  const cpu = process.cpuUsage();
  const started = performance.now();
  fn();
  const wallMs = performance.now() - started;
  const { user, system } = process.cpuUsage(cpu);
  return { cpuMs: (user + system) / 1000, wallMs };
}

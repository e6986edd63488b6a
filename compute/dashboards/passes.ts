/*
 * What every pass over a corpus shares: its batches of equal-length contexts, the time spent in each part, and its
 * progress reports.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { DashboardPhase, DashboardProgress, DashboardTimings } from './types';

/** Consecutive runs of items with equal-length token sequences, at most `size` items each. */
export function* equalLengthBatches<T>(items: T[], tokens: (item: T) => number[], size: number): Generator<{ first: number; items: T[] }> {
  let first = 0;
  while (first < items.length) {
    const length = tokens(items[first]).length;
    let end = first + 1;
    while (end < items.length && end - first < size && tokens(items[end]).length === length) end++;
    yield { first, items: items.slice(first, end) };
    first = end;
  }
}

/** [batch, T, d] → [batch·T, d] */
export function flatten(x: tf.Tensor3D): tf.Tensor2D {
  const [batch, seqLen, d] = x.shape;
  return tf.reshape(x, [batch * seqLen, d]);
}

export type TimedPart = 'model' | 'sae' | 'bookkeeping' | 'weights';

/** Wall-clock time per part. The backends run kernels synchronously here (wasm, cpu, tfjs-node), and each part ends in a read to the host. */
export class Stopwatch {
  private readonly seconds: Record<TimedPart, number> = { model: 0, sae: 0, bookkeeping: 0, weights: 0 };
  private readonly started = performance.now();

  time<T>(part: TimedPart, work: () => T): T {
    const start = performance.now();
    try {
      return work();
    } finally {
      this.seconds[part] += (performance.now() - start) / 1000;
    }
  }

  timings(tokens: number): DashboardTimings {
    const totalSeconds = (performance.now() - this.started) / 1000;
    return {
      modelSeconds: this.seconds.model,
      saeSeconds: this.seconds.sae,
      bookkeepingSeconds: this.seconds.bookkeeping,
      weightsSeconds: this.seconds.weights,
      totalSeconds,
      tokensPerSecond: tokens / totalSeconds,
    };
  }
}

export class ProgressTracker {
  private done = 0;
  private clockStart?: number;
  private weightsStart?: number;

  constructor(
    public total: number,
    private readonly report?: (progress: DashboardProgress) => void | Promise<void>,
    private readonly signal?: AbortSignal,
  ) {
    signal?.throwIfAborted();
  }

  /** The token rate is measured from here (after the weights, which run no tokens). */
  startClock(): void {
    this.clockStart = performance.now();
  }

  async advance(phase: DashboardPhase, tokens: number): Promise<void> {
    this.done += tokens;
    const seconds = this.clockStart === undefined ? 0 : (performance.now() - this.clockStart) / 1000;
    const rate = seconds > 0 ? this.done / seconds : 0;
    await this.emit({
      phase,
      tokensDone: this.done,
      tokensTotal: this.total,
      tokensPerSecond: rate,
      etaSeconds: rate > 0 ? (this.total - this.done) / rate : null,
    });
  }

  /** The weights phase: `done` features of `total`, timed from the first call. */
  async weights(done: number, total: number): Promise<void> {
    this.weightsStart ??= performance.now();
    const seconds = (performance.now() - this.weightsStart) / 1000;
    const perSecond = seconds > 0 ? done / seconds : 0;
    await this.emit({
      phase: 'weights',
      tokensDone: this.done,
      tokensTotal: this.total,
      tokensPerSecond: 0,
      etaSeconds: perSecond > 0 ? (total - done) / perSecond : null,
      features: { done, total, perSecond },
    });
  }

  private async emit(progress: DashboardProgress): Promise<void> {
    await this.report?.(progress);
    // The batches run synchronously: yield so that an abort (a timer, a message) can arrive, then honour it.
    await new Promise((resolve) => setImmediate(resolve));
    this.signal?.throwIfAborted();
  }
}

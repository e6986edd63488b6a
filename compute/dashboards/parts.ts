/*
 * The parts of the dashboards' bookkeeping that a pass over one range of the corpus keeps (compute/dashboards/
 * features.ts), as bytes to store with its shard and merge in another process. Numbers go exactly as they are:
 * counts and sums as float64, activations as float32, indices and priorities as uint32. An example's activations are
 * stored sparsely (its non-zero positions and values: an SAE's activations are mostly zero); its tokens, peak and
 * drawn activation are read back from the corpus and the activations.
 */
import { ActivationSamples, ActivationTotals, type SampleOptions, type SampleTargets, type TotalsOptions } from './features';
import type { ActivationExample } from './types';

/** Three streams of numbers (uint32, float32, float64), laid out one after the other behind their lengths. */
class PartWriter {
  readonly u32: number[] = [];
  readonly f32: number[] = [];
  readonly f64: number[] = [];

  /** an example's activations: its non-zero positions and their values */
  acts(acts: Float32Array): void {
    const at = this.u32.length;
    this.u32.push(0);
    for (let t = 0; t < acts.length; t++) {
      if (acts[t] === 0) continue;
      this.u32.push(t);
      this.f32.push(acts[t]);
      this.u32[at]++;
    }
  }

  doubles(...arrays: Float64Array[]): void {
    for (const array of arrays) for (const x of array) this.f64.push(x);
  }

  bytes(): Buffer {
    const header = Uint32Array.of(this.u32.length, this.f32.length, this.f64.length);
    return Buffer.concat([header, Uint32Array.from(this.u32), Float32Array.from(this.f32), Float64Array.from(this.f64)].map((a) => Buffer.from(a.buffer, a.byteOffset, a.byteLength)));
  }
}

class PartReader {
  private readonly u32: Uint32Array;
  private readonly f32: Float32Array;
  private readonly f64: Float64Array;
  private at = { u32: 0, f32: 0, f64: 0 };

  constructor(bytes: Uint8Array, what: string) {
    // copied, so that each array is aligned whatever the buffer it came in
    const copy = (offset: number, byteLength: number) => {
      if (offset + byteLength > bytes.byteLength) throw new Error(`${what} is truncated: ${bytes.byteLength} bytes`);
      return new Uint8Array(bytes.subarray(offset, offset + byteLength)).buffer;
    };
    const [n32, nf32, n64] = new Uint32Array(copy(0, 12));
    this.u32 = new Uint32Array(copy(12, 4 * n32));
    this.f32 = new Float32Array(copy(12 + 4 * n32, 4 * nf32));
    this.f64 = new Float64Array(copy(12 + 4 * (n32 + nf32), 8 * n64));
  }

  uint(): number {
    return this.u32[this.at.u32++];
  }

  float(): number {
    return this.f32[this.at.f32++];
  }

  doubles(n: number): Float64Array {
    return this.f64.subarray(this.at.f64, (this.at.f64 += n));
  }

  /** activations over `length` tokens, from their non-zero positions and values */
  acts(length: number): Float32Array {
    const acts = new Float32Array(length);
    for (let n = this.uint(); n > 0; n--) acts[this.uint()] = this.float();
    return acts;
  }
}

/** Pass 1's part: counts and sums, and per feature its top and random candidates. */
export function encodeTotals(totals: ActivationTotals): Buffer {
  const out = new PartWriter();
  totals.top.forEach((top, f) => {
    out.u32.push(top.length);
    for (const { contextIndex, maxAct, maxPos } of top) {
      out.u32.push(contextIndex, maxPos);
      out.f32.push(maxAct);
    }
    out.u32.push(totals.random[f].length);
    for (const { contextIndex, priority } of totals.random[f]) out.u32.push(contextIndex, priority);
  });
  out.doubles(totals.firing, totals.sums, totals.bosCounts);
  return out.bytes();
}

export function decodeTotals(bytes: Uint8Array, options: TotalsOptions): ActivationTotals {
  const totals = new ActivationTotals(options);
  const F = options.features.length;
  const input = new PartReader(bytes, 'a statistics part');
  for (let f = 0; f < F; f++) {
    totals.top[f] = Array.from({ length: input.uint() }, () => ({ contextIndex: input.uint(), maxPos: input.uint(), maxAct: input.float() }));
    totals.random[f] = Array.from({ length: input.uint() }, () => ({ contextIndex: input.uint(), priority: input.uint() }));
  }
  totals.firing.set(input.doubles(F));
  totals.sums.set(input.doubles(F));
  totals.bosCounts.set(input.doubles(F));
  return totals;
}

/** Pass 2's part: histogram and interval counts, interval draws, and the top and random examples found in the range. */
export function encodeSamples(samples: ActivationSamples): Buffer {
  const out = new PartWriter();
  for (const list of samples.intervalSamples) {
    out.u32.push(list.length);
    for (const { contextIndex, position, priority, acts } of list) {
      out.u32.push(contextIndex, position, priority);
      out.acts(acts);
    }
  }
  for (const found of [samples.topExamples, samples.randomExamples]) {
    for (const list of found) {
      const ranks = Object.keys(list).map(Number);
      out.u32.push(ranks.length);
      for (const rank of ranks) {
        out.u32.push(rank, list[rank].contextIndex);
        out.acts(list[rank].acts);
      }
    }
  }
  out.doubles(samples.histograms, samples.intervalCounts);
  return out.bytes();
}

export function decodeSamples(bytes: Uint8Array, targets: SampleTargets, options: SampleOptions, contexts: number[][]): ActivationSamples {
  const samples = new ActivationSamples(targets, options);
  const input = new PartReader(bytes, 'an examples part');
  const example = (contextIndex: number): ActivationExample => {
    const tokens = contexts[contextIndex];
    if (!tokens) throw new Error(`an examples part names context ${contextIndex}, the corpus has ${contexts.length}`);
    return samples.exampleOf(contextIndex, tokens, input.acts(tokens.length));
  };
  samples.intervalSamples.forEach((_, i) => {
    samples.intervalSamples[i] = Array.from({ length: input.uint() }, () => {
      const [contextIndex, position, priority] = [input.uint(), input.uint(), input.uint()];
      const drawn = example(contextIndex);
      return { ...drawn, position, act: drawn.acts[position], priority };
    });
  });
  for (const found of [samples.topExamples, samples.randomExamples]) {
    for (const list of found) {
      for (let n = input.uint(); n > 0; n--) {
        const rank = input.uint();
        list[rank] = example(input.uint());
      }
    }
  }
  samples.histograms.set(input.doubles(samples.histograms.length));
  samples.intervalCounts.set(input.doubles(samples.intervalCounts.length));
  return samples;
}

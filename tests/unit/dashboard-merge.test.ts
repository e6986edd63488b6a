/**
 * The dashboards' bookkeeping over ranges of a corpus, merged, against one pass over all of it (compute/dashboards/
 * features.ts), on synthetic activations: counts, top, random and interval examples equal whatever the ranges, their
 * batches and the order their parts merge in; top-k ties keep the earlier context; bottom-k draws are uniform.
 */
import { describe, expect, it } from 'vitest';
import { ActivationSamples, ActivationTotals, byPriority, byTop, firstOf, type SampleOptions, type TotalsOptions } from '@/compute/dashboards/features';
import { decodeSamples, decodeTotals, encodeSamples, encodeTotals } from '@/compute/dashboards/parts';
import { permutation, seededRandom } from '@/compute/random';

const BOS = 0;
const SEQ = 6;
const N_CONTEXTS = 40;
const FEATURES = [7, 3, 11];

/** contexts starting with BOS; activations [context][t][f], mostly zero, some at BOS, some ties between contexts */
function corpus(seed: number) {
  const random = seededRandom(seed);
  const contexts = Array.from({ length: N_CONTEXTS }, () => [BOS, ...Array.from({ length: SEQ - 1 }, () => 1 + Math.floor(random() * 20))]);
  const acts = contexts.map(() => Array.from({ length: SEQ }, () => FEATURES.map(() => (random() < 0.6 ? 0 : Math.fround(Math.round(random() * 8) / 4)))));
  return { contexts, acts };
}

const totalsOptions: TotalsOptions = { features: FEATURES, topK: 4, randomExamples: 5, seed: 9 };
const sampleOptions: SampleOptions = { features: FEATURES, histogramBins: 8, intervals: 4, examplesPerInterval: 3, seed: 9, excludeBos: true, bosId: BOS };

/** Pass 1 over contexts first..end−1 in batches of `batch`, as compute.ts hands them in (BOS left out of the maxima). */
function totalsOf({ contexts, acts }: ReturnType<typeof corpus>, first: number, end: number, batch: number): ActivationTotals {
  const totals = new ActivationTotals(totalsOptions);
  const F = FEATURES.length;
  for (let start = first; start < end; start += batch) {
    const n = Math.min(batch, end - start);
    const max = new Float32Array(n * F);
    const argMax = new Int32Array(n * F);
    const [firing, sums, bos] = [new Float32Array(F), new Float32Array(F), new Float32Array(F)];
    for (let b = 0; b < n; b++) {
      for (let t = 0; t < SEQ; t++) {
        for (let f = 0; f < F; f++) {
          const a = acts[start + b][t][f];
          firing[f] += a > 0 ? 1 : 0;
          sums[f] += a;
          bos[f] += a > 0 && contexts[start + b][t] === BOS ? 1 : 0;
          const ranked = contexts[start + b][t] === BOS ? 0 : a;
          if (ranked > max[b * F + f]) [max[b * F + f], argMax[b * F + f]] = [ranked, t];
        }
      }
    }
    totals.add(start, max, argMax, firing, sums, bos);
  }
  return totals;
}

/** Pass 2 over contexts first..end−1 in batches of `batch`. */
function samplesOf({ contexts, acts }: ReturnType<typeof corpus>, totals: ActivationTotals, first: number, end: number, batch: number): ActivationSamples {
  const samples = new ActivationSamples({ maxActs: totals.maxActs(), top: totals.top, random: totals.random }, sampleOptions);
  for (let start = first; start < end; start += batch) {
    const ids = contexts.slice(start, Math.min(end, start + batch));
    samples.add(start, ids, Float32Array.from(acts.slice(start, start + ids.length).flat(2)));
  }
  return samples;
}

/** Everything the dashboards read from both passes, per feature. */
function readOut(totals: ActivationTotals, samples: ActivationSamples) {
  return FEATURES.map((_, f) => ({
    firing: totals.firing[f],
    sums: totals.sums[f],
    bos: totals.bosCounts[f],
    top: totals.top[f],
    random: totals.random[f],
    histogram: samples.histogram(f),
    intervals: samples.intervals(f),
    topExamples: samples.topExamples[f],
    randomExamples: samples.randomExamplesOf(f),
  }));
}

describe('dashboard bookkeeping over ranges of the corpus', () => {
  it('merges ranges into what one pass over the whole corpus keeps, whatever the batches and the merge order', () => {
    const data = corpus(1);
    const whole = totalsOf(data, 0, N_CONTEXTS, 8);
    const wholeSamples = samplesOf(data, whole, 0, N_CONTEXTS, 8);
    const expected = readOut(whole, wholeSamples);
    const cuts = [0, 5, 17, 18, 33, N_CONTEXTS];
    const ranges = cuts.slice(0, -1).map((first, i) => [first, cuts[i + 1]] as const);
    const totals = ActivationTotals.merged(ranges.map(([first, end], i) => totalsOf(data, first, end, 3 + i)));
    const parts = ranges.map(([first, end], i) => samplesOf(data, totals, first, end, 7 - i));
    const shuffled = Array.from(permutation(seededRandom(5), parts.length), (i) => parts[i]);
    for (const merged of [ActivationSamples.merged(parts), ActivationSamples.merged(shuffled)]) {
      expect(readOut(totals, merged)).toEqual(expected);
    }
    // as stored with the shards and read back in another process: the same, bit for bit
    const stored = ActivationTotals.merged(ranges.map(([first, end], i) => decodeTotals(encodeTotals(totalsOf(data, first, end, 3 + i)), totalsOptions)));
    const targets = { maxActs: stored.maxActs(), top: stored.top, random: stored.random };
    const read = parts.map((part) => decodeSamples(encodeSamples(part), targets, sampleOptions, data.contexts));
    expect(readOut(stored, ActivationSamples.merged(read))).toEqual(expected);
    // an example's activations are stored sparsely: 4 bytes of position and value per non-zero, not 4 per token
    const bytes = encodeSamples(parts[0]).byteLength;
    expect(bytes).toBeLessThan(12 + 8 * (FEATURES.length * (8 + 4)) + 4 * 3 * SEQ * 40);
    // the data exercise what they should: features firing in more contexts than are drawn, full intervals
    expect(expected.some((f) => f.firing > 0 && f.random.length === 5 && f.top.length === 4)).toBe(true);
    expect(expected.some((f) => f.intervals.some((i) => i.count > 3 && i.examples.length === 3))).toBe(true);
    expect(expected.every((f) => f.topExamples.every((e, rank) => e.contextIndex === f.top[rank].contextIndex && e.maxAct === f.top[rank].maxAct))).toBe(true);
    expect(expected.every((f) => f.randomExamples.every((e) => e.maxAct > 0 && data.contexts[e.contextIndex] === e.tokens))).toBe(true);
  });

  it('keeps the earlier context of a tie for the top, in one pass and merged', () => {
    const tie = (contextIndex: number, maxAct = 2): { contextIndex: number; maxAct: number; maxPos: number } => ({ contextIndex, maxAct, maxPos: 1 });
    expect(firstOf([[tie(9), tie(12, 1)], [tie(2), tie(3)]], 2, byTop).map((c) => c.contextIndex)).toEqual([2, 3]);
    expect(firstOf([[tie(2), tie(3)], [tie(9, 3)]], 2, byTop).map((c) => c.contextIndex)).toEqual([9, 2]);
    // one pass: equal maxima in contexts 0 and 1 of one feature, topK 1
    const totals = new ActivationTotals({ ...totalsOptions, features: [0], topK: 1 });
    totals.add(0, Float32Array.of(2, 2), Int32Array.of(1, 3), Float32Array.of(2), Float32Array.of(4), Float32Array.of(0));
    expect(totals.top[0]).toEqual([{ contextIndex: 0, maxAct: 2, maxPos: 1 }]);
  });

  it('keeps the k smallest priorities of a union whatever the order of its parts', () => {
    const random = seededRandom(3);
    const candidates = Array.from({ length: 60 }, (_, contextIndex) => ({ contextIndex, priority: Math.floor(random() * 16) }));
    const expected = [...candidates].sort(byPriority).slice(0, 7);
    const parts = [candidates.slice(0, 20), candidates.slice(20, 45), candidates.slice(45)].map((part) => [...part].sort(byPriority).slice(0, 7));
    expect(firstOf(parts, 7, byPriority)).toEqual(expected);
    expect(firstOf([...parts].reverse(), 7, byPriority)).toEqual(expected);
    // equal priorities (16 values for 60 candidates) are ordered by context
    expect(expected.every((c, i) => i === 0 || c.priority > expected[i - 1].priority || c.contextIndex > expected[i - 1].contextIndex)).toBe(true);
  });

  it('draws random contexts uniformly: each context about as often over many features', () => {
    const features = Array.from({ length: 400 }, (_, f) => f);
    const totals = new ActivationTotals({ features, topK: 1, randomExamples: 5, seed: 1 });
    const contexts = 20;
    const max = new Float32Array(contexts * features.length).fill(1);
    totals.add(0, max, new Int32Array(max.length), new Float32Array(features.length), new Float32Array(features.length), new Float32Array(features.length));
    const picks = new Array<number>(contexts).fill(0);
    for (const list of totals.random) for (const { contextIndex } of list) picks[contextIndex]++;
    // 400 · 5 / 20 = 100 expected each; a binomial's sd here is under 10
    expect(Math.min(...picks)).toBeGreaterThan(65);
    expect(Math.max(...picks)).toBeLessThan(135);
  });
});

/** app/_lib/progress.ts: how the job panels write a running job's progress (phase, counts, rate, time left). */
import { describe, expect, it } from 'vitest';
import { describeProgress, formatSeconds } from '@/app/_lib/progress';

describe('describeProgress', () => {
  it('writes tokens done of the total with the rate and the time left', () => {
    expect(
      describeProgress({ phase: 'first pass: statistics', unit: 'tokens', done: 12_288, total: 65_536, rate: 1234.5, etaSeconds: 40.4 }),
    ).toBe('first pass: statistics · 12,288 / 65,536 tokens · 1235 tokens/s · about 40 s left');
  });

  it('names a phase without counts alone, and leaves out a rate or ETA not yet measured', () => {
    expect(describeProgress({ phase: 'loading the model' })).toBe('loading the model');
    expect(describeProgress({ phase: 'logit weights', unit: 'features', done: 0, total: 16_384, rate: 0, etaSeconds: null })).toBe(
      'logit weights · 0 / 16,384 features',
    );
    expect(describeProgress({ phase: 'logit weights', unit: 'features', done: 4096, total: 16_384, rate: 2.25, etaSeconds: 5461 })).toBe(
      'logit weights · 4,096 / 16,384 features · 2.3 features/s · about 1 h 31 min left',
    );
  });

  it('leaves out chunk counts, and the time left when the caller shows its own', () => {
    expect(describeProgress({ phase: 'storing', unit: 'chunks', done: 0, total: 1, etaSeconds: null })).toBe('storing');
    expect(describeProgress({ phase: 'training', unit: 'steps', done: 10, total: 100, rate: 5, etaSeconds: 18 }, { eta: false })).toBe(
      'training · 10 / 100 steps · 5.0 steps/s',
    );
  });
  it('adds the job’s other counts: an import’s files, lines read and decoder vectors', () => {
    expect(
      describeProgress({ phase: 'features', unit: 'files', done: 3, total: 24, rate: 0.5, etaSeconds: 42, counts: { 'lines read': 12_000, 'decoder vectors compared with the SAE’s own rows': 12_000, differing: 2 } }),
    ).toBe('features · 3 / 24 files · 0.5 files/s · about 42 s left · 12,000 lines read · 12,000 decoder vectors compared with the SAE’s own rows · 2 differing');
  });

  it('says how many of a dashboards job’s shards are done and how many workers run the rest', () => {
    const detail = { phase: 'second pass: examples', unit: 'tokens' as const, done: 30_000, total: 80_000, rate: 2400, etaSeconds: 20.8 };
    expect(describeProgress({ ...detail, shards: { done: 3, total: 8, running: 3, workers: 3 } })).toBe(
      'second pass: examples · 3 / 8 shards done · 3 running on 3 workers · 30,000 / 80,000 tokens · 2400 tokens/s · about 21 s left',
    );
    expect(describeProgress({ ...detail, phase: 'waiting for other workers', shards: { done: 7, total: 8, running: 1, workers: 1 } })).toContain(
      '7 / 8 shards done · 1 running on 1 worker ·',
    );
    // one shard is the whole job: nothing to say about shards
    expect(describeProgress({ ...detail, shards: { done: 0, total: 1, running: 1, workers: 1 } })).toBe(describeProgress(detail));
  });
});

describe('formatSeconds', () => {
  it('writes seconds, minutes and seconds, or hours and minutes, never "60 s"', () => {
    expect([0, 0.4, 42.4, 59.6, 60, 119.6, 185, 3599.7, 3600, 7830].map(formatSeconds)).toEqual([
      '1 s',
      '1 s',
      '42 s',
      '1 min 0 s',
      '1 min 0 s',
      '2 min 0 s',
      '3 min 5 s',
      '1 h 0 min',
      '1 h 0 min',
      '2 h 11 min',
    ]);
  });
});

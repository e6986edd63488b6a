/**
 * The shard plan of a dashboards job: per range of features, a statistics and an examples pass over each range of the
 * corpus and their merge; the evals' two passes over ranges of the corpus that cover every context once; the evals'
 * first passes, the longest, first, and the merges last; nothing but the job's own inputs decide it (there is no
 * argument for the number of workers). The corpus ranges of the features' passes are made of whole batches.
 */
import { describe, expect, it } from 'vitest';
import { rangesOfBatches } from '@/compute/dashboards/compute';
import { planShards, type ShardPlan } from '@/server/dashboard-shards';

/** contexts of varied lengths: 10 of 4 tokens, then 3 of 2 */
const contexts = [...Array.from({ length: 10 }, () => [1, 2, 3, 4]), ...Array.from({ length: 3 }, () => [1, 2])];

const ofKind = (plan: ShardPlan[], kind: ShardPlan['kind']) => plan.filter((shard) => shard.kind === kind);

describe('rangesOfBatches', () => {
  it('cuts the corpus at batch starts, evenly in batches, at most one range per batch', () => {
    // batches of 3: 0-2, 3-5, 6-8, 9 (the 4-token run ends), 10-12
    expect(rangesOfBatches(contexts, 3, 2)).toEqual([{ first: 0, count: 6 }, { first: 6, count: 7 }]);
    expect(rangesOfBatches(contexts, 3, 3)).toEqual([{ first: 0, count: 3 }, { first: 3, count: 6 }, { first: 9, count: 4 }]);
    expect(rangesOfBatches(contexts, 3, 8).map((r) => r.first)).toEqual([0, 3, 6, 9, 10]);
    expect(rangesOfBatches(contexts, 100, 8)).toEqual([{ first: 0, count: 10 }, { first: 10, count: 3 }]);
  });
});

describe('planShards', () => {
  const passRanges = rangesOfBatches(contexts, 3, 2);

  it('splits the features into ranges, each with both passes over every corpus range and a merge', () => {
    const plan = planShards(contexts, 10, 4, passRanges, 3);
    expect(plan.map((shard) => shard.kind)).toEqual([
      ...Array(3).fill('evals'), ...Array(6).fill('statistics'), ...Array(6).fill('examples'), ...Array(3).fill('mean-ablation'), ...Array(3).fill('features'),
    ]);
    expect(ofKind(plan, 'statistics')).toEqual([
      { kind: 'statistics', first: 0, count: 4, contextFirst: 0, contextCount: 6, tokensTotal: 24 },
      { kind: 'statistics', first: 0, count: 4, contextFirst: 6, contextCount: 7, tokensTotal: 22 },
      { kind: 'statistics', first: 4, count: 4, contextFirst: 0, contextCount: 6, tokensTotal: 24 },
      { kind: 'statistics', first: 4, count: 4, contextFirst: 6, contextCount: 7, tokensTotal: 22 },
      { kind: 'statistics', first: 8, count: 2, contextFirst: 0, contextCount: 6, tokensTotal: 24 },
      { kind: 'statistics', first: 8, count: 2, contextFirst: 6, contextCount: 7, tokensTotal: 22 },
    ]);
    expect(ofKind(plan, 'examples')).toEqual(ofKind(plan, 'statistics').map((shard) => ({ ...shard, kind: 'examples' })));
    expect(ofKind(plan, 'features')).toEqual([
      { kind: 'features', first: 0, count: 4, contextFirst: 0, contextCount: 13, tokensTotal: 0 },
      { kind: 'features', first: 4, count: 4, contextFirst: 0, contextCount: 13, tokensTotal: 0 },
      { kind: 'features', first: 8, count: 2, contextFirst: 0, contextCount: 13, tokensTotal: 0 },
    ]);
  });

  it('counts a merge’s ablations at most: its features’ top contexts (20, at most all 13) of the longest length, clean and ablated', () => {
    const merges = ofKind(planShards(contexts, 10, 4, passRanges, 0, { ablateTopExamples: true }), 'features');
    expect(merges.map((shard) => shard.tokensTotal)).toEqual([2 * 4 * 13 * 4, 2 * 4 * 13 * 4, 2 * 2 * 13 * 4]);
  });

  it('covers every context once in each of the evals’ passes, in the same ranges', () => {
    const plan = planShards(contexts, 10, 4, passRanges, 3);
    const ranges = (kind: ShardPlan['kind']) => ofKind(plan, kind).map(({ contextFirst, contextCount, tokensTotal }) => ({ contextFirst, contextCount, tokensTotal }));
    expect(ranges('evals')).toEqual([
      { contextFirst: 0, contextCount: 4, tokensTotal: 16 },
      { contextFirst: 4, contextCount: 4, tokensTotal: 16 },
      { contextFirst: 8, contextCount: 5, tokensTotal: 14 },
    ]);
    expect(ranges('mean-ablation')).toEqual(ranges('evals'));
  });

  it('has at most one eval range per context, and none for a run that stores no evals', () => {
    expect(ofKind(planShards(contexts.slice(0, 2), 10, 4, passRanges, 8), 'evals').map((s) => s.contextCount)).toEqual([1, 1]);
    expect(planShards(contexts, 10, 4, passRanges, 0).some((shard) => shard.kind === 'evals' || shard.kind === 'mean-ablation')).toBe(false);
  });
});

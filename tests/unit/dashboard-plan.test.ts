/**
 * The shard plan of a dashboards job: feature ranges over the whole corpus, and the evals' two passes over ranges of
 * the corpus that cover every context once; the feature shards, the longest, first, and mean-ablation last; nothing but the job's own inputs
 * decide it (there is no argument for the number of workers).
 */
import { describe, expect, it } from 'vitest';
import { planShards, type ShardPlan } from '@/server/dashboard-shards';

/** contexts of varied lengths: 10 of 4 tokens, then 3 of 2 */
const contexts = [...Array.from({ length: 10 }, () => [1, 2, 3, 4]), ...Array.from({ length: 3 }, () => [1, 2])];

const ofKind = (plan: ShardPlan[], kind: ShardPlan['kind']) => plan.filter((shard) => shard.kind === kind);

describe('planShards', () => {
  it('splits the features into ranges, each over the whole corpus, before the evals’ two passes', () => {
    const plan = planShards(contexts, 10, 4, 3);
    expect(plan.map((shard) => shard.kind)).toEqual(['features', 'features', 'features', 'evals', 'evals', 'evals', 'mean-ablation', 'mean-ablation', 'mean-ablation']);
    expect(ofKind(plan, 'features')).toEqual([
      { kind: 'features', first: 0, count: 4, contextFirst: 0, contextCount: 13, tokensTotal: 92 },
      { kind: 'features', first: 4, count: 4, contextFirst: 0, contextCount: 13, tokensTotal: 92 },
      { kind: 'features', first: 8, count: 2, contextFirst: 0, contextCount: 13, tokensTotal: 92 },
    ]);
  });

  it('covers every context once in each of the evals’ passes, in the same ranges', () => {
    const plan = planShards(contexts, 10, 4, 3);
    const ranges = (kind: ShardPlan['kind']) => ofKind(plan, kind).map(({ contextFirst, contextCount, tokensTotal }) => ({ contextFirst, contextCount, tokensTotal }));
    expect(ranges('evals')).toEqual([
      { contextFirst: 0, contextCount: 4, tokensTotal: 16 },
      { contextFirst: 4, contextCount: 4, tokensTotal: 16 },
      { contextFirst: 8, contextCount: 5, tokensTotal: 14 },
    ]);
    expect(ranges('mean-ablation')).toEqual(ranges('evals'));
  });

  it('has at most one eval range per context, and none for a run that stores no evals', () => {
    expect(ofKind(planShards(contexts.slice(0, 2), 10, 4, 8), 'evals').map((s) => s.contextCount)).toEqual([1, 1]);
    expect(planShards(contexts, 10, 4, 0).every((shard) => shard.kind === 'features')).toBe(true);
  });
});

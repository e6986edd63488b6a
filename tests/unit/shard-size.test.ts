/**
 * The size of a dashboards job's feature shards: as many features as the worker's memory budget holds the examples and
 * histograms of, from the job's own settings and corpus (so the same for every worker), and the budget's setting.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { featureBytes, featuresPerShardWithin, MAX_FEATURES_PER_SHARD, SHARD_MEMORY_MB, type ShardSizing } from '@/compute/dashboards/shard-size';
import { shardMemoryBytes } from '@/worker/jobs/dashboards';

const MIB = 2 ** 20;
/** Neuronpedia's GPT-2-small dashboards: 24,576 contexts of 128 tokens; the job's default batch and random examples */
const gpt2: ShardSizing = { contextSize: 128, nContexts: 24_576, batchSize: 8, randomExamples: 10 };

describe('feature shards sized by memory', () => {
  it('hold about 4096 GPT-2-small features in the default budget, each mostly its 80 examples of 128 float32 activations', () => {
    const bytes = featureBytes(gpt2);
    expect(bytes).toBeGreaterThan(80 * 128 * 4);
    expect(bytes).toBeLessThan(2 * 80 * 128 * 4);
    const features = featuresPerShardWithin(gpt2, SHARD_MEMORY_MB * MIB);
    expect(features).toBeGreaterThan(3500);
    expect(features).toBeLessThan(5000);
    expect(features * bytes).toBeLessThanOrEqual(SHARD_MEMORY_MB * MIB);
    expect((features + 1) * bytes).toBeGreaterThan(SHARD_MEMORY_MB * MIB);
  });

  it('grow with the budget and shrink with the context, the batch and the random examples', () => {
    const within = (sizing: ShardSizing, mb = SHARD_MEMORY_MB) => featuresPerShardWithin(sizing, mb * MIB);
    expect(Math.abs(within(gpt2, 2 * SHARD_MEMORY_MB) - 2 * within(gpt2))).toBeLessThanOrEqual(1);
    expect(within({ ...gpt2, contextSize: 1024 })).toBeLessThan(within(gpt2) / 5);
    expect(within({ ...gpt2, batchSize: 64 })).toBeLessThan(within(gpt2));
    expect(within({ ...gpt2, randomExamples: 100 })).toBeLessThan(within(gpt2));
  });

  it('count no more top and random examples than the corpus has contexts', () => {
    const tiny = { ...gpt2, nContexts: 3 };
    // 20 top and 10 random examples become 3 each
    expect(featureBytes(gpt2) - featureBytes(tiny)).toBe((20 - 3 + 10 - 3) * (4 * 128 + 200));
  });

  it('are at least one feature and at most the job param’s bound, and refuse a budget that is none', () => {
    expect(featuresPerShardWithin(gpt2, 1)).toBe(1);
    expect(featuresPerShardWithin({ ...gpt2, contextSize: 1, nContexts: 1 }, 1024 ** 4)).toBe(MAX_FEATURES_PER_SHARD);
    expect(() => featuresPerShardWithin(gpt2, 0)).toThrow("a shard's memory budget must be positive, got 0 bytes");
  });
});

describe('LEXICON_SHARD_MEMORY_MB', () => {
  const saved = process.env.LEXICON_SHARD_MEMORY_MB;
  afterEach(() => {
    if (saved === undefined) delete process.env.LEXICON_SHARD_MEMORY_MB;
    else process.env.LEXICON_SHARD_MEMORY_MB = saved;
  });

  it('sets the budget in MiB, by default SHARD_MEMORY_MB, and names a bad value', () => {
    delete process.env.LEXICON_SHARD_MEMORY_MB;
    expect(shardMemoryBytes()).toBe(SHARD_MEMORY_MB * MIB);
    process.env.LEXICON_SHARD_MEMORY_MB = '1024';
    expect(shardMemoryBytes()).toBe(1024 * MIB);
    process.env.LEXICON_SHARD_MEMORY_MB = 'lots';
    expect(() => shardMemoryBytes()).toThrow('LEXICON_SHARD_MEMORY_MB must be a positive number of MiB, got "lots"');
    process.env.LEXICON_SHARD_MEMORY_MB = '-5';
    expect(() => shardMemoryBytes()).toThrow(/got "-5"/);
  });
});

import { describe, expect, it } from 'vitest';
import { STORIES_DIR } from '../shared';
import { lexicon } from './cli-helpers';

describe('lexicon run', () => {
  it('prints one JSON object with tokens, pieces, top predictions and the greedy continuation', async () => {
    const { code, stdout } = await lexicon('run', '--model', STORIES_DIR, '--text', 'Once upon a time', '--top', '5', '--generate', '5', '--json');
    expect(code).toBe(0);
    const result = JSON.parse(stdout);
    expect(Object.keys(result)).toEqual(['tokens', 'pieces', 'top', 'generated']);
    expect(result.tokens).toEqual([1, 403, 407, 261, 378]);
    expect(result.pieces).toEqual(['\n<s>\n', ' Once', ' upon', ' a', ' time']);
    expect(result.top).toHaveLength(5);
    for (const candidates of result.top) {
      expect(candidates).toHaveLength(5);
      for (const c of candidates) {
        expect(Object.keys(c)).toEqual(['id', 'piece', 'logit', 'prob']);
        expect(c.prob).toBeGreaterThan(0);
        expect(c.prob).toBeLessThanOrEqual(1);
      }
      const probs = candidates.map((c: { prob: number }) => c.prob);
      expect(probs).toEqual([...probs].sort((a, b) => b - a));
    }
    // llama2.c's greedy decode from BOS continues "Once upon a time" with ", there was a little"
    expect(result.generated).toEqual([432, 383, 286, 261, 376]);
  });

  it('prints a readable table without --json', async () => {
    const { code, stdout } = await lexicon('run', '--model', STORIES_DIR, '--token-ids', '1,403', '--generate', '2');
    expect(code).toBe(0);
    expect(stdout).toContain('" upon"');
    expect(stdout).toContain('text: Once upon a');
  });

  it('exits 1 with a clear message and no stack trace for bad input', async () => {
    const { code, stdout, stderr } = await lexicon('run', '--model', STORIES_DIR, '--token-ids', '1,9999', '--json');
    expect(code).toBe(1);
    expect(stdout).toBe('');
    expect(stderr).toContain('lexicon: token id 9999 at position 1 is out of range: the vocabulary has ids 0..511');
    expect(stderr).not.toMatch(/\n\s+at /);
  });

  it('exits 2 for a usage error', async () => {
    const { code, stderr } = await lexicon('run', '--model', STORIES_DIR);
    expect(code).toBe(2);
    expect(stderr).toContain('give exactly one of --text and --token-ids');
    expect(stderr).toContain('usage:');
  });
});

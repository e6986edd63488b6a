/** The explainer's prompts and answers (server/explainer/prompts.ts) and the endpoint client's URL and Retry-After reading. */
import { describe, expect, it } from 'vitest';
import { completionsUrl, retryAfterSeconds } from '@/server/explainer/client';
import { detectionMessages, detectionScore, explanationMessages, parseDetection, parseLabel, renderExcerpt, windowAround } from '@/server/explainer/prompts';

describe('excerpts', () => {
  it('marks consecutive firing tokens as one <<span>>, pieces written as the pages show them in text', () => {
    const excerpt = { pieces: [' the', ' big', ' cat', ' sat', '\n', ' down'], acts: [0, 1.5, 0.2, 0, 0, 3] };
    expect(renderExcerpt(excerpt, true)).toBe('the<< big cat>> sat⏎<< down>>');
    expect(renderExcerpt(excerpt, false)).toBe('the big cat sat⏎ down');
    // byte pieces of a sentencepiece tokenizer: the newline and a printable character; a space piece stays a space
    expect(renderExcerpt({ pieces: [' a', '<0x0A>', 'b', '<0x2B>', ' ', 'c'], acts: [0, 0, 0, 0, 0, 0] }, false)).toBe('a⏎b+ c');
  });

  it('shows a window ending a few tokens after the token it is for', () => {
    const items = Array.from({ length: 64 }, (_, i) => i);
    expect(windowAround(items, 50)).toEqual(items.slice(27, 59));
    expect(windowAround(items, 3)).toEqual(items.slice(0, 32)); // near the start: the first 32
    expect(windowAround(items, 62)).toEqual(items.slice(32, 64)); // near the end: the last 32
    expect(windowAround([1, 2, 3], 1)).toEqual([1, 2, 3]);
  });

  it('puts the examples in the explanation prompt marked, and the excerpts in the detection prompt unmarked', () => {
    const e = { pieces: [' a', ' b'], acts: [0, 1] };
    expect(explanationMessages([e, e])[1]!.content).toBe('Example 1: a<< b>>\nExample 2: a<< b>>\n\nLabel:');
    const detect = detectionMessages('b after a', [e])[1]!.content;
    expect(detect).toBe('Explanation: b after a\n\nExcerpt 1: a b\n\nAnswer with a JSON list of 1 numbers (0 or 1):');
  });
});

describe('answers', () => {
  it('reads the label from the last line, less a prefix and surrounding quotes', () => {
    expect(parseLabel('the word "cat"')).toBe('the word "cat"');
    expect(parseLabel('Let me think.\n\nLabel: "animals in stories"\n')).toBe('animals in stories');
    expect(parseLabel('Explanation: names of girls')).toBe('names of girls');
    expect(() => parseLabel('  \n ')).toThrow('the endpoint answered no label');
    expect(() => parseLabel('x'.repeat(201))).toThrow('longer than 200 characters (201)');
  });

  it('reads the detection list, and names what is wrong with one it cannot', () => {
    expect(parseDetection('Sure: [1, 0, true, false, "1"]', 5)).toEqual([true, false, true, false, true]);
    expect(() => parseDetection('yes, no, yes', 3)).toThrow('has no JSON list');
    expect(() => parseDetection('[1, 0]', 3)).toThrow('lists 2 values for 3 excerpts');
    expect(() => parseDetection('[1, 2, 0]', 3)).toThrow("value 2 is 2, not 0 or 1");
    expect(() => parseDetection('[1, 0,]', 2)).toThrow('is not JSON');
  });

  it('scores balanced accuracy: the mean of the rates on each class', () => {
    const truth = [true, true, true, true, false, false];
    expect(detectionScore(truth, [true, true, true, false, false, true])).toEqual({ balancedAccuracy: (3 / 4 + 1 / 2) / 2, n: 6, positives: 4, negatives: 2 });
    expect(detectionScore(truth, truth.map(() => true)).balancedAccuracy).toBe(0.5);
    expect(detectionScore([true, true], [true, false])).toEqual({ balancedAccuracy: 0.5, n: 2, positives: 2, negatives: 0 });
  });
});

describe('the endpoint', () => {
  it('posts to /v1/chat/completions whether or not the base URL ends in /v1', () => {
    expect(completionsUrl('http://127.0.0.1:8000')).toBe('http://127.0.0.1:8000/v1/chat/completions');
    expect(completionsUrl('http://127.0.0.1:8000/v1/')).toBe('http://127.0.0.1:8000/v1/chat/completions');
    expect(completionsUrl('https://api.example.org/openai/v1')).toBe('https://api.example.org/openai/v1/chat/completions');
  });

  it('reads Retry-After as seconds or as a date', () => {
    expect(retryAfterSeconds('7')).toBe(7);
    expect(retryAfterSeconds(new Date(10_000 + 3_000).toUTCString(), 10_000)).toBe(3);
    expect(retryAfterSeconds(null)).toBeNull();
    expect(retryAfterSeconds('soon')).toBeNull();
  });
});

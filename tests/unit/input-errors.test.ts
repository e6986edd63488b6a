import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { readableInputError } from '@/server/api/input-errors';

const problem = (schema: z.ZodType, input: unknown) => {
  const result = schema.safeParse(input);
  if (result.success) throw new Error('expected the input to be refused');
  return readableInputError(result.error);
};

describe('input errors', () => {
  it('read as sentences naming the field, never zod\'s "✖ … → at"', () => {
    const schema = z.object({
      label: z.string().min(1).max(5),
      proposalId: z.uuid(),
      status: z.enum(['open', 'supported']),
      note: z.string().min(1, 'type a note first'),
    });
    expect(problem(schema, { label: '', proposalId: 'x', status: 'maybe', note: '' })).toBe(
      'the label is empty; the proposal id is not a valid uuid; the status must be one of "open", "supported"; type a note first',
    );
    expect(problem(schema.pick({ label: true }), { label: 'toolong' })).toBe('the label is longer than 5 characters');
    expect(problem(schema.pick({ label: true }), {})).toBe('the label is missing');
    expect(problem(z.object({ n: z.number().int().min(2) }), { n: 1 })).toBe('the n must be at least 2');
    const refined = z.object({ text: z.string().optional() }).refine((v) => v.text !== undefined, 'give either text or token ids');
    expect(problem(refined, {})).toBe('give either text or token ids');
    expect(problem(schema, {})).not.toMatch(/✖|→/);
  });
});

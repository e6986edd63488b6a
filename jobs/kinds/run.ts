/** The model alone on a text: the most likely next tokens at every position, and a greedy continuation. */
import { z } from '../zod';
import type { Prediction } from '@/compute/analyses/predict';
import { describes, type JobKind } from '../kind';
import { pieces, tokenIds, tokenInput } from '../types';

const prediction = describes<Prediction>()(
  z.object({
    tokens: tokenIds,
    pieces,
    top: z.array(z.array(z.object({ id: z.number().int(), piece: z.string(), logit: z.number(), prob: z.number() }))),
    generated: tokenIds,
  }),
);

export const run = {
  title: 'Model run',
  params: z.object({
    modelId: z.string().uuid(),
    input: tokenInput,
    top: z.number().int().min(1).max(50).default(5),
    generate: z.number().int().min(0).max(256).default(0),
  }),
  // the page shows the continuation as text; the worker holds the tokenizer
  result: prediction.extend({ generatedText: z.string() }),
  expirySeconds: 10 * 60,
} satisfies JobKind;

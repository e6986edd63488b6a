/** A corpus sampled from the model itself (seeded; a fine default where no dataset is at hand, e.g. stories260K). */
import { z } from '../zod';
import type { JobKind } from '../kind';

export const sampleCorpus = {
  title: 'Corpus sampling',
  params: z.object({
    modelId: z.string().uuid(),
    name: z.string().min(1).max(200).optional(),
    /** documents to sample at most */
    documents: z.number().int().min(1).max(1_000_000).default(100_000),
    /** total tokens to keep (whole contexts); sampling stops once the documents hold this many */
    maxTokens: z.number().int().min(2).max(10_000_000).default(100_000),
    /** longest document, BOS included (at most the model's context) */
    documentTokens: z.number().int().min(2).max(4096).default(256),
    /** tokens per context, BOS included */
    contextSize: z.number().int().min(2).max(4096).default(128),
    prependBos: z.boolean().default(true),
    seed: z.number().int().min(0).default(0),
    temperature: z.number().min(0).max(10).default(1),
  }),
  /** the stored corpus (an identical one already stored is reused) */
  result: z.object({
    corpusId: z.string().uuid(),
    name: z.string(),
    nContexts: z.number().int(),
    nTokens: z.number().int(),
    documents: z.number().int(),
  }),
  expirySeconds: 12 * 60 * 60,
} satisfies JobKind;

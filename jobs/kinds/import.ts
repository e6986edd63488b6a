/**
 * An import of dashboards and explanations made elsewhere into an SAE (server/exchange): started from the SAE page by
 * its maintainers (a base URL) or an admin (also a directory on the server), with progress, as `lexicon import` does.
 */
import { z } from '../zod';
import type { JobKind } from '../kind';

export const DASHBOARD_IMPORT_FORMATS = ['neuronpedia', 'saedashboard'] as const;

/** What became of the features' decoder vectors: stored (the SAE's files are not readable), or checked against its own rows. */
const vectorCounts = z.object({
  stored: z.number().int(),
  checked: z.number().int(),
  mismatched: z.number().int(),
  /** the first few features whose vector differs */
  firstMismatches: z.array(z.number().int()),
});
export type VectorCounts = z.infer<typeof vectorCounts>;

/** The decoder vectors of an import in a sentence, for the command line and the import panel; null when it brought none. */
export function describeVectors({ stored, checked, mismatched, firstMismatches }: VectorCounts): string | null {
  if (stored > 0) return `${stored} decoder vectors stored as the SAE's decoder rows (its files cannot be read here)`;
  if (checked === 0) return null;
  if (mismatched === 0) return `${checked} decoder vectors match the SAE's own decoder rows`;
  const features = `${firstMismatches.join(', ')}${mismatched > firstMismatches.length ? ', …' : ''}`;
  return `${mismatched} of ${checked} decoder vectors differ from the SAE's own decoder rows (features ${features}): is the export of another SAE?`;
}

export const importKind = {
  title: 'Dashboard import',
  params: z.object({
    saeId: z.string().uuid(),
    format: z.enum(DASHBOARD_IMPORT_FORMATS),
    /** a directory on the server, or a base URL (http, https) */
    location: z.string().trim().min(1).max(2000),
  }),
  result: z.object({
    /** the SAE's current run came from the same files already: nothing was done */
    unchanged: z.boolean(),
    runId: z.string().uuid(),
    features: z.number().int().optional(),
    examples: z.number().int().optional(),
    explanations: z.number().int().optional(),
    explanationsKept: z.number().int().optional(),
    unmatchedTokens: z.number().int().optional(),
    vectors: vectorCounts.optional(),
  }),
  expirySeconds: 6 * 60 * 60,
} satisfies JobKind;

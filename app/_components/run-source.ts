import type { DashboardRunSource } from '@/drizzle/schema';

/** "imported from Neuronpedia export DIR, 8,000 tokens as stated by the source": said wherever an imported run is shown. */
export function describeRunSource(source: DashboardRunSource): string {
  const what = source.kind === 'neuronpedia' ? 'Neuronpedia export' : 'SAEDashboard output';
  const tokens =
    source.nTokensStated === null ? 'the source states no token count' : `${source.nTokensStated.toLocaleString('en')} tokens as stated by the source`;
  const unmatched = source.unmatchedTokens > 0 ? `; ${source.unmatchedTokens.toLocaleString('en')} example tokens are not in the model's vocabulary` : '';
  return `imported from ${what} ${source.path}, ${tokens}${unmatched}`;
}

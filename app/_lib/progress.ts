/** How pages write a running job's progress (the worker's ProgressDetail): phase, units done of the total, rate, time left. */
import type { DashboardShardsDetail, ProgressDetail } from '@/jobs/types';

/** `42 s`, `3 min 5 s`, `2 h 10 min`: a time left, at least 1 s. */
export function formatSeconds(seconds: number): string {
  const s = Math.max(1, Math.round(seconds));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  const minutes = Math.round(s / 60);
  return `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

/**
 * `first pass: statistics · 12,288 / 65,536 tokens · 771 tokens/s · about 40 s left`, then the job's other counts
 * (`· 4,000 lines read · 2,000 decoder vectors stored`) (a dashboards job split into
 * shards: `… · 3 / 8 shards done · 3 running on 3 workers · …`, the tokens and rate summed over them); a phase without counts
 * (`loading the model`) is its name alone. `eta: false` leaves the time out (for a caller that shows the job's own).
 */
export function describeProgress(detail: ProgressDetail, { eta = true } = {}): string {
  const parts: string[] = [detail.phase];
  // a dashboards job split into shards: how many are done, and on how many workers (its rate is their sum)
  const shards = detail.shards as DashboardShardsDetail | undefined;
  if (shards && shards.total > 1) {
    parts.push(`${shards.done} / ${shards.total} shards done` + (shards.running > 0 ? ` · ${shards.running} running on ${shards.workers} worker${shards.workers === 1 ? '' : 's'}` : ''));
  }
  if (detail.done !== undefined && detail.total !== undefined && detail.unit && detail.unit !== 'chunks') {
    parts.push(`${Math.round(detail.done).toLocaleString('en')} / ${detail.total.toLocaleString('en')} ${detail.unit}`);
  }
  if (detail.rate) parts.push(`${detail.rate.toFixed(detail.rate < 10 ? 1 : 0)} ${detail.unit ?? 'tokens'}/s`);
  if (eta && typeof detail.etaSeconds === 'number') parts.push(`about ${formatSeconds(detail.etaSeconds)} left`);
  for (const [what, n] of Object.entries(detail.counts ?? {})) parts.push(`${n.toLocaleString('en')} ${what}`);
  return parts.join(' · ');
}

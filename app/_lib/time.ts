/** How pages write times: in UTC, so a team spread over time zones reads the same time, server- or client-rendered. */

/** `2026-12-06 04:07 UTC` */
export const utc = (d: Date) => `${d.toISOString().slice(0, 16).replace('T', ' ')} UTC`;

/** `2026-12-06` */
export const day = (d: Date) => d.toISOString().slice(0, 10);

/** `12s ago`, `5 min ago`, `3 h ago`, then the day; `now` comes from the caller so server and client agree. */
export function ago(at: Date, now: number): string {
  const s = Math.max(0, Math.round((now - at.getTime()) / 1000));
  if (s < 60) return `${s}s ago`;
  if (s < 3600) return `${Math.round(s / 60)} min ago`;
  if (s < 86400) return `${Math.round(s / 3600)} h ago`;
  return day(at);
}

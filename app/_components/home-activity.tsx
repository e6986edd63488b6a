/** The home page's recent feature page edits (the jobs under way are in running-jobs.tsx). */
import Link from 'next/link';
import type { RecentEdit } from '@/server/activity';
import { featureHref, formatFeatureAddress } from '@/server/addresses';
import { ago } from '../_lib/time';

export function RecentActivity({ edits, now }: { edits: RecentEdit[]; now: number }) {
  return (
    <section data-testid="recent-activity">
      <h2>Recent edits</h2>
      {edits.length === 0 ? (
        <p className="muted">No feature has been labelled yet.</p>
      ) : (
        <ul className="activity">
          {edits.map((e) => (
            <li key={`${formatFeatureAddress(e)}/${e.revision}`}>
              <Link href={featureHref(e)} className="mono">
                {e.model}/{e.sae}/{e.index}
              </Link>{' '}
              {e.label ? <>“{e.label}”</> : <span className="muted">(label cleared)</span>}
              <div className="muted small">
                {e.author ?? 'someone'} · revision {e.revision}
                {e.summary && <> · {e.summary}</>} · <time dateTime={e.at.toISOString()}>{ago(e.at, now)}</time>
              </div>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

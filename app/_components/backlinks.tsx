/**
 * "Discussed in": the comments, hypotheses and feature pages that link to a feature (and that the viewer may read),
 * newest first, each with the start of its text. Server-rendered.
 */
import Link from 'next/link';
import { api } from '@/server/api/server-caller';
import type { FeatureAddress } from '@/server/addresses';
import { day } from '../_lib/time';

const KIND = { comment: 'comment', hypothesis: 'hypothesis', feature_page: 'feature page' } as const;

export async function Backlinks({ address }: { address: FeatureAddress }) {
  const links = await (await api()).featureLink.backlinks(address);
  return (
    <section aria-labelledby="backlinks-h" data-testid="backlinks">
      <h2 id="backlinks-h">
        Discussed in <span className="muted">({links.length})</span>
      </h2>
      {links.length === 0 ? (
        <p className="muted">No comment, hypothesis or feature page links here yet. Link it as [[{address.model}/{address.sae}/{address.index}]].</p>
      ) : (
        <ul className="activity">
          {links.map((l) => (
            <li key={`${l.kind}:${l.href}`} data-testid="backlink">
              <span className="tag">{KIND[l.kind]}</span> <Link href={l.href}>{l.title}</Link>
              <span className="muted">
                {' '}
                · {l.author ?? 'someone'} · {day(l.at)}
              </span>
              {l.snippet && <div className="muted">{l.snippet}</div>}
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

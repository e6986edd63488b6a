/** A list of wiki changes (recent changes, a user's contributions): feature, label change, kind, author, time. */
import Link from 'next/link';
import type { Change } from '@/server/changes';
import { featureHref, userHref } from '@/server/addresses';
import styles from './wiki.module.css';
import { utc } from '../_lib/time';

const KIND_NAMES = { edit: 'edit', revert: 'revert', vote: 'vote' } as const;

export function ChangeList({ changes, showAuthor = true }: { changes: Change[]; showAuthor?: boolean }) {
  if (changes.length === 0) return <p className="muted" data-testid="no-changes">No changes.</p>;
  return (
    <ul className="activity" data-testid="change-list">
      {changes.map((c) => {
        const path = featureHref(c);
        return (
          <li key={c.id} data-testid="change" data-kind={c.kind}>
            <span className={styles.kind} data-kind={c.kind}>
              {KIND_NAMES[c.kind]}
            </span>
            <Link href={path} className="mono">
              {c.model}/{c.sae}/{c.index}
            </Link>{' '}
            {c.label !== c.previousLabel ? (
              <>
                {c.previousLabel && (
                  <>
                    <del>{c.previousLabel}</del> →{' '}
                  </>
                )}
                <strong>{c.label || <span className="muted">(label removed)</span>}</strong>
              </>
            ) : (
              <span>{c.label || <span className="muted">unlabelled</span>}</span>
            )}{' '}
            <Link href={`${path}/history?to=${c.revision}${c.revision > 1 ? `&from=${c.revision - 1}` : ''}`} className="small">
              rev {c.revision}
            </Link>
            {c.summary && <span className="muted"> — {c.summary}</span>}
            <div className="muted small">
              {showAuthor && (
                <>
                  {c.author ? <Link href={userHref(c.author.id)}>{c.author.name}</Link> : 'deleted user'} ·{' '}
                </>
              )}
              {utc(c.at)}
            </div>
          </li>
        );
      })}
    </ul>
  );
}

/**
 * A word-level diff (server/revisions.ts) as text with <ins> and <del>: underlined and struck through, so the
 * change reads without colour, and each run is named for screen readers.
 */
import type { DiffPart } from '@/server/revisions';
import styles from './wiki.module.css';

export function WordDiff({ parts, testId }: { parts: DiffPart[]; testId?: string }) {
  if (parts.length === 0) return <div className={`${styles.diff} muted`} data-testid={testId}>(empty)</div>;
  return (
    <div className={styles.diff} data-testid={testId}>
      {parts.map((p, i) =>
        p.kind === 'ins' ? (
          <ins key={i}>
            <span className="sr-only">[inserted: </span>
            {p.text}
            <span className="sr-only">]</span>
          </ins>
        ) : p.kind === 'del' ? (
          <del key={i}>
            <span className="sr-only">[deleted: </span>
            {p.text}
            <span className="sr-only">]</span>
          </del>
        ) : (
          <span key={i}>{p.text}</span>
        ),
      )}
    </div>
  );
}

export function DiffLegend() {
  return (
    <p className={`muted small ${styles.legend}`}>
      <ins>underlined</ins>: inserted · <del>struck through</del>: deleted
    </p>
  );
}

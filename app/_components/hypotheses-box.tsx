/**
 * The feature page's "Hypotheses" box: the hypotheses about this feature (open ones first) with status and votes,
 * a link to write a new one, and a control to save the feature's current dashboard as evidence.
 */
import Link from 'next/link';
import { api } from '@/server/api/server-caller';
import { formatFeatureAddress } from '@/server/addresses';
import { SaveEvidence } from './save-evidence';
import { scoreText, StatusBadge } from './hypothesis-status';
import styles from './hypotheses.module.css';

export async function HypothesesBox({ model, sae, index, canEdit, hasDashboard }: { model: string; sae: string; index: number; canEdit: boolean; hasDashboard: boolean }) {
  const caller = await api();
  const list = await caller.hypothesis.forFeature({ model, sae, index });
  const address = formatFeatureAddress({ model, sae, index });
  const links = (
    <span className="muted small">
      ({list.length}) · <Link href={`/hypotheses?feature=${encodeURIComponent(address)}`}>all</Link>
      {canEdit && (
        <>
          {' '}
          · <Link href={`/hypotheses/new?feature=${encodeURIComponent(address)}`} data-testid="new-hypothesis">new</Link>
        </>
      )}
    </span>
  );
  const saveDashboard = canEdit && hasDashboard && (
    <div className="small" style={{ marginTop: 6 }}>
      <SaveEvidence address={{ model, sae, index }} what="this feature’s dashboard" />
    </div>
  );
  // With none yet the box is one collapsed line, so the feature's dashboard comes first on the page.
  if (list.length === 0)
    return (
      <details className={`${styles.box} ${styles.empty}`} data-testid="hypotheses-box">
        <summary>
          <h2 id="hypotheses-h">Hypotheses</h2> <span className="muted small">none about this feature yet</span> {links}
        </summary>
        {saveDashboard}
      </details>
    );
  return (
    <section className={styles.box} aria-labelledby="hypotheses-h" data-testid="hypotheses-box">
      <h2 id="hypotheses-h">Hypotheses {links}</h2>
      <ul>
        {list.map((h) => (
          <li key={h.id} data-testid="hypothesis-row">
            <StatusBadge status={h.status} />
            <Link href={`/hypotheses/${h.id}`} className={styles.statement}>
              {h.statement}
            </Link>
            <span className={styles.score} title="votes">
              {scoreText(h.score, h.votes)}
            </span>
          </li>
        ))}
      </ul>
      {saveDashboard}
    </section>
  );
}

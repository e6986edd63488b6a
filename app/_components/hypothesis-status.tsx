/** A hypothesis's status as a coloured badge (the word is always written: colour is not the only signal). */
import type { HypothesisStatus } from '@/server/hypotheses';
import styles from './hypotheses.module.css';

export function StatusBadge({ status }: { status: HypothesisStatus }) {
  return (
    <span className={`${styles.status} ${styles[status]}`} data-testid="hypothesis-status">
      {status}
    </span>
  );
}

/** The statuses in the order forms offer them (client components cannot import the server module that owns them). */
export const STATUS_CHOICES: readonly HypothesisStatus[] = ['open', 'supported', 'refuted', 'inconclusive'];

export const scoreText = (score: number, votes: number) => `${score > 0 ? '+' : ''}${score} (${votes} vote${votes === 1 ? '' : 's'})`;

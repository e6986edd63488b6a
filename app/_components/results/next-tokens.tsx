/** The most likely next tokens with their probabilities: a run's at each position, a steering scan's at each coefficient. */
import { formatFraction } from '../token-format';
import { displayPiece } from '@/server/token-piece';
import styles from './results.module.css';

export interface NextToken {
  id: number;
  piece: string;
  prob: number;
  /** shown on hover where the result has it */
  logit?: number;
}

export function NextTokens({ tokens }: { tokens: NextToken[] }) {
  return tokens.map((p) => (
    <span key={p.id} className={`mono ${styles.nextTok}`} title={`id ${p.id}${p.logit === undefined ? '' : `, logit ${p.logit.toFixed(3)}`}`}>
      <span className="prob-bar" style={{ width: Math.max(2, p.prob * 40) }} />
      <code className="tok">{displayPiece(p.piece)}</code> {formatFraction(p.prob)}
    </span>
  ));
}

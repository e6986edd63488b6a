'use client';
/**
 * Steered generation: the default and the steered continuation of the prompt side by side. Each generated token is
 * shaded by its probability, and its log-prob with the top-k alternatives shows on hover and keyboard focus; the same
 * numbers are in a table per continuation (no script needed, read by screen readers as a table).
 */
import type { JobResult } from '@/jobs';
import { displayPiece, formatValue, TokenText } from '../tokens';
import type { ResultViewProps } from './index';
import styles from './results.module.css';

type Generation = JobResult<'steer-generate'>;
type Continuation = Generation['default'];

const STOPS: Record<Continuation['stop'], string> = {
  'max-tokens': 'reached the token limit',
  end: 'the model ended the text',
  context: 'the context is full',
};

export function SteeredGenerationView({ result, compact = false, testId }: ResultViewProps<'steer-generate'>) {
  const same = result.default.tokens.length === result.steered.tokens.length && result.default.tokens.every((id, i) => result.steered.tokens[i] === id);
  return (
    <div className={styles.result} data-testid={`${testId}-result`}>
      <p className="muted">
        Steering vector norm <span className="mono">{formatValue(result.steeringNorm)}</span>
        {same ? '; the steered continuation is the same as the default one.' : '.'}
      </p>
      <div className={styles.sideBySide}>
        <ContinuationText name="Default" prompt={result.pieces} continuation={result.default} compact={compact} testId={`${testId}-default`} />
        <ContinuationText name="Steered" prompt={result.pieces} continuation={result.steered} compact={compact} testId={`${testId}-steered`} />
      </div>
      {!compact && (
        <details>
          <summary>Log-probabilities of every generated token</summary>
          <div className={styles.sideBySide}>
            <LogprobTable name="Default" continuation={result.default} testId={`${testId}-default-table`} />
            <LogprobTable name="Steered" continuation={result.steered} testId={`${testId}-steered-table`} />
          </div>
        </details>
      )}
    </div>
  );
}

function ContinuationText({ name, prompt, continuation, compact, testId }: { name: string; prompt: string[]; continuation: Continuation; compact: boolean; testId: string }) {
  const { pieces, logprobs, top, stop } = continuation;
  return (
    <section aria-label={`${name} continuation`}>
      <h4 className={styles.columnTitle}>
        {name} <span className="muted">({pieces.length} tokens; {STOPS[stop]})</span>
      </h4>
      <div className={compact ? styles.short : styles.text}>
        <TokenText
          tokens={[...prompt, ...pieces]}
          // the prompt unshaded; each generated token shaded by its probability
          values={[...prompt.map(() => null), ...logprobs.map(Math.exp)]}
          scale={1}
          valueName="p"
          label={`the prompt and the ${name.toLowerCase()} continuation, generated tokens shaded by their probability`}
          details={(t) => {
            const i = t - prompt.length;
            if (i < 0) return 'prompt';
            return `log p ${formatValue(logprobs[i]!)} · top: ${top[i]!.map((c) => `${JSON.stringify(c.piece)} ${formatValue(c.logprob)}`).join(', ')}`;
          }}
          testId={testId}
        />
      </div>
    </section>
  );
}

function LogprobTable({ name, continuation, testId }: { name: string; continuation: Continuation; testId: string }) {
  return (
    <table className={styles.compact} data-testid={testId}>
      <caption>{name}</caption>
      <thead>
        <tr>
          <th className="num">#</th>
          <th>token</th>
          <th className="num">log p</th>
          <th>likeliest (log p)</th>
        </tr>
      </thead>
      <tbody>
        {continuation.tokens.map((_, i) => (
          <tr key={i}>
            <td className="num mono">{i + 1}</td>
            <td className="mono">
              <code className="tok">{displayPiece(continuation.pieces[i]!)}</code>
            </td>
            <td className="num mono">{formatValue(continuation.logprobs[i]!)}</td>
            <td className="mono">
              {continuation.top[i]!.map((c) => (
                <span key={c.id} className={styles.nextTok}>
                  <code className="tok">{displayPiece(c.piece)}</code> {formatValue(c.logprob)}
                </span>
              ))}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

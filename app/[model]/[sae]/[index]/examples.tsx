'use client';
/** A feature's example contexts, one line each: the peak's value, then the tokens around it (expandable). */
import { formatValue, TokenText } from '../../../_components/tokens';
import styles from './feature.module.css';

export interface ExampleLine {
  key: string;
  tokens: number[];
  acts: number[];
  /** [t] = loss change predicting token t+1 with the feature ablated */
  lossDelta: number[] | null;
  maxAct: number;
  /** the token the line centres on: the peak (top examples) or the drawn token (interval examples) */
  focus: number;
  contextIndex: number;
}

/** Tokens either side of the peak before the line is expanded. */
const RADIUS = 18;

export function ExampleList({ examples, pieces, scale }: { examples: ExampleLine[]; pieces: Record<number, string>; scale: number }) {
  return (
    <ol className={styles.examples}>
      {examples.map((e) => (
        <li key={e.key} className={styles.example} data-testid="example">
          <span className={`mono ${styles.exampleValue}`} title={`context ${e.contextIndex}; the centred token's activation`}>
            {formatValue(e.acts[e.focus] ?? e.maxAct)}
          </span>
          <TokenText
            tokens={e.tokens}
            pieces={pieces}
            values={e.acts}
            scale={scale}
            focus={e.focus}
            radius={RADIUS}
            label={`context ${e.contextIndex}, peak ${formatValue(e.maxAct)}`}
            details={
              e.lossDelta
                ? (t) => {
                    // the loss change of predicting token t (made at position t − 1)
                    const delta = t > 0 ? e.lossDelta![t - 1] : undefined;
                    return delta === undefined ? null : `ablated: Δloss ${delta >= 0 ? '+' : ''}${formatValue(delta)}`;
                  }
                : undefined
            }
          />
        </li>
      ))}
    </ol>
  );
}

'use client';
/** A feature's example contexts, one line each: the peak's value, then the tokens around it (expandable). */
import { useMemo } from 'react';
import { formatValue, TokenText } from '../../../_components/tokens';
import styles from './feature.module.css';

export interface ExampleLine {
  key: string;
  /** the context's token pieces */
  pieces: string[];
  acts: number[];
  /** [t] = loss change predicting token t+1 with the feature ablated */
  lossDelta: number[] | null;
  maxAct: number;
  /** the token the line centres on: the peak (top examples) or the drawn token (interval examples) */
  focus: number;
  contextIndex: number;
}

/** Tokens either side of the peak before the line is expanded, unless the list says otherwise. */
const RADIUS = 18;

/**
 * `lines` is the JSON of the ExampleLine[]: the server passes one string because React's flight serialiser visits
 * every element of a number array in JavaScript (thousands per page), where one string is copied whole.
 */
export function ExampleList({ lines, scale, radius = RADIUS }: { lines: string; scale: number; radius?: number }) {
  const examples = useMemo(() => JSON.parse(lines) as ExampleLine[], [lines]);
  return (
    <ol className={styles.examples}>
      {examples.map((e) => (
        <li key={e.key} className={styles.example} data-testid="example">
          <span className={`mono ${styles.exampleValue}`} title={`context ${e.contextIndex}; the centred token's activation`}>
            {formatValue(e.acts[e.focus] ?? e.maxAct)}
          </span>
          <TokenText
            tokens={e.pieces}
            values={e.acts}
            scale={scale}
            focus={e.focus}
            radius={radius}
            label={`context ${e.contextIndex}, peak ${formatValue(e.maxAct)}`}
            details={e.lossDelta ? lossDetails(e.lossDelta) : undefined}
          />
        </li>
      ))}
    </ol>
  );
}

/** The tooltip line of token t: the loss change of predicting it (made at position t − 1) with the feature ablated. */
function lossDetails(lossDelta: number[]) {
  return (t: number) => {
    const delta = t > 0 ? lossDelta[t - 1] : undefined;
    return delta === undefined ? null : `ablated: Δloss ${delta >= 0 ? '+' : ''}${formatValue(delta)}`;
  };
}

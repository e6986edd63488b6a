'use client';
/**
 * A feature's example contexts, one line each: the peak's value, then the tokens around it. The page sends only
 * those tokens; "expand" fetches the whole contexts (feature.get, once for every line of the page).
 */
import { useQuery } from '@tanstack/react-query';
import { useMemo, useState } from 'react';
import type { FeatureAddress } from '@/server/addresses';
import { ErrorLine } from '../../../_components/error-line';
import { formatValue, TokenText } from '../../../_components/tokens';
import { useTRPC } from '../../../trpc';
import { exampleLine, findExample, type ExampleLine } from './example-lines';
import styles from './feature.module.css';

/**
 * `lines` is the JSON of the ExampleLine[]: the server passes one string because React's flight serialiser visits
 * every element of a number array in JavaScript (thousands per page), where one string is copied whole.
 */
export function ExampleList({ lines, scale, radius, address }: { lines: string; scale: number; radius: number; address: FeatureAddress }) {
  const examples = useMemo(() => JSON.parse(lines) as ExampleLine[], [lines]);
  return (
    <ol className={styles.examples}>
      {examples.map((e) => (
        <Example key={e.key} line={e} scale={scale} radius={radius} address={address} />
      ))}
    </ol>
  );
}

function Example({ line, scale, radius, address }: { line: ExampleLine; scale: number; radius: number; address: FeatureAddress }) {
  const trpc = useTRPC();
  const [expanded, setExpanded] = useState(false);
  const page = useQuery(trpc.feature.get.queryOptions(address, { enabled: expanded, staleTime: Infinity }));
  const whole = useMemo(() => {
    const example = page.data && findExample(page.data, line.key);
    return example ? exampleLine(example, page.data!.pieces) : null;
  }, [page.data, line.key]);
  const shown = expanded && whole ? whole : line;
  // TokenText indexes by position in the context; the positions outside the shown ones stay holes
  const { tokens, acts, lossDelta } = useMemo(
    () => ({
      tokens: placed(shown.pieces, shown.from, shown.length),
      acts: placed(shown.acts, shown.from, shown.length),
      lossDelta: shown.lossDelta && placed(shown.lossDelta, Math.max(0, shown.from - 1), shown.length),
    }),
    [shown],
  );
  const details = useMemo(() => (lossDelta ? lossDetails(lossDelta) : undefined), [lossDelta]);
  return (
    <li className={styles.example} data-testid="example">
      <span className={`mono ${styles.exampleValue}`} title={`context ${line.contextIndex}; the centred token's activation`}>
        {formatValue(line.acts[line.focus - line.from] ?? line.maxAct)}
      </span>
      <TokenText
        tokens={tokens}
        values={acts}
        scale={scale}
        focus={line.focus}
        radius={radius}
        expanded={expanded && whole !== null}
        onExpandedChange={setExpanded}
        label={`context ${line.contextIndex}, peak ${formatValue(line.maxAct)}`}
        details={details}
      />
      <ErrorLine error={expanded && page.error} inline small />
    </li>
  );
}

function placed<T>(values: readonly T[], from: number, length: number): T[] {
  const out = new Array<T>(length);
  values.forEach((v, k) => (out[from + k] = v));
  return out;
}

/** The tooltip line of token t: the loss change of predicting it (made at position t − 1) with the feature ablated. */
function lossDetails(lossDelta: number[]) {
  return (t: number) => {
    const delta = t > 0 ? lossDelta[t - 1] : undefined;
    return delta === undefined ? null : `ablated: Δloss ${delta >= 0 ? '+' : ''}${formatValue(delta)}`;
  };
}

'use client';
/** A steering scan: the mean loss (and a target token's logit) against the coefficient, and (in full) the next tokens at each. */
import type { Data, Layout } from 'plotly.js';
import { useMemo } from 'react';
import { Plot, plotlyText } from '../plot';
import { displayPiece, formatValue } from '../tokens';
import type { ResultViewProps } from './index';
import { NextTokens } from './next-tokens';
import styles from './results.module.css';

export function SteeringView({ result, compact = false, testId }: ResultViewProps<'steer'>) {
  const { data, layout } = useMemo(() => {
    const x = result.results.map((r) => r.coefficient);
    const data: Data[] = [
      {
        type: 'scatter',
        mode: 'lines+markers',
        x,
        y: result.results.map((r) => r.loss),
        name: 'mean loss',
        line: { color: '#1f5fbf', width: 2 },
        marker: { symbol: 'circle', size: 5 },
        hovertemplate: 'c = %{x}: loss %{y:.3f}<extra></extra>',
      },
    ];
    if (result.target) {
      data.push({
        type: 'scatter',
        mode: 'lines+markers',
        x,
        y: result.results.map((r) => r.targetLogit),
        name: `logit of “${plotlyText(displayPiece(result.target.piece))}” (right)`,
        yaxis: 'y2',
        line: { color: '#e07000', width: 2, dash: 'dash' },
        marker: { symbol: 'square', size: 5 },
        hovertemplate: 'c = %{x}: logit %{y:.3f}<extra></extra>',
      });
    }
    const layout: Partial<Layout> = {
      margin: { l: 52, r: 56, t: 12, b: 64 },
      // c = 0 (no steering) is marked by a tick, not a line across the plot; the right axis keeps its own round ticks
      xaxis: { title: { text: 'steering coefficient c' }, zeroline: false },
      yaxis: { title: { text: 'mean next-token loss' }, zeroline: false, nticks: 6 },
      yaxis2: { title: { text: 'target logit' }, overlaying: 'y', side: 'right', showgrid: false, zeroline: false, tickmode: 'auto', nticks: 6 },
      legend: { orientation: 'h', y: -0.3 },
    };
    return { data, layout };
  }, [result]);
  return (
    <div className={styles.result} data-testid={`${testId}-result`}>
      <Plot
        testId={`${testId}-plot`}
        data={data}
        layout={layout}
        height={compact ? 220 : 280}
        description={`Mean loss${result.target ? ` and the logit of “${displayPiece(result.target.piece)}”` : ''} against the steering coefficient, ${result.coefficients.length} coefficients from ${result.coefficients[0]} to ${result.coefficients.at(-1)}.`}
      />
      {!compact && (
        <table className={styles.compact} data-testid={`${testId}-table`}>
          <thead>
            <tr>
              <th className="num">c</th>
              <th className="num">loss</th>
              {result.target && (
                <th className="num">
                  logit <code className="tok">{displayPiece(result.target.piece)}</code>
                </th>
              )}
              <th>most likely next tokens</th>
            </tr>
          </thead>
          <tbody>
            {result.results.map((r) => (
              <tr key={r.coefficient}>
                <td className="num mono">{r.coefficient}</td>
                <td className="num mono">{r.loss === null ? '—' : formatValue(r.loss)}</td>
                {result.target && <td className="num mono">{r.targetLogit === null ? '—' : formatValue(r.targetLogit)}</td>}
                <td>
                  <NextTokens tokens={r.top} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}

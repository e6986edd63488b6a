'use client';
/** The feature page's histograms, through the shared Plotly component. */
import type { Data, Layout } from 'plotly.js';
import { useMemo } from 'react';
import { Plot } from '../../../_components/plot';

const ORANGE = '#e07000';
const BLUE = '#1f5fbf';
const RED = '#c8281e';

const NO_MODEBAR = { displayModeBar: false };
const compact: Partial<Layout> = { margin: { l: 44, r: 8, t: 8, b: 36 }, bargap: 0.05, showlegend: false };

/**
 * A histogram of equal-width bins as the page sends it: its lowest edge and the bins' width rather than every edge
 * (the browser derives them).
 */
export interface Bins {
  lo: number;
  width: number;
  counts: number[];
}

function centres(h: Bins): { x: number[]; width: number } {
  return { x: h.counts.map((_, i) => h.lo + (i + 0.5) * h.width), width: h.width };
}

/** "from LO to HI", the range a histogram covers. */
function range(h: Bins): string {
  return `from ${h.lo.toFixed(3)} to ${(h.lo + h.counts.length * h.width).toFixed(3)}`;
}

export function ActivationHistogram({ histogram, nTokens, nonzero }: { histogram: Bins; nTokens: number; nonzero: number }) {
  const { data, layout } = useMemo(() => {
    const { x, width } = centres(histogram);
    const data: Data[] = [
      {
        type: 'bar',
        x,
        y: histogram.counts,
        width,
        marker: { color: ORANGE },
        hovertemplate: 'activation %{x:.3f}: %{y} tokens<extra></extra>',
      },
    ];
    const layout: Partial<Layout> = {
      ...compact,
      xaxis: { title: { text: 'activation (non-zero)', standoff: 4 }, zeroline: false },
      yaxis: { title: { text: 'tokens' }, rangemode: 'tozero' },
    };
    return { data, layout };
  }, [histogram]);
  if (histogram.counts.length === 0) return <p className="muted">It never fired in {nTokens.toLocaleString('en')} tokens.</p>;
  return (
    <Plot
      testId="activation-histogram"
      data={data}
      layout={layout}
      height={170}
      config={NO_MODEBAR}
      description={`Histogram of the ${nonzero.toLocaleString('en')} non-zero activations (of ${nTokens.toLocaleString('en')} tokens), ${range(histogram)}.`}
    />
  );
}

export function LogitHistogram({ histogram }: { histogram: Bins }) {
  const { data, layout } = useMemo(() => {
    const { x, width } = centres(histogram);
    const data: Data[] = [
      {
        type: 'bar',
        x,
        y: histogram.counts,
        width,
        marker: { color: x.map((v) => (v >= 0 ? BLUE : RED)) },
        hovertemplate: 'logit weight %{x:.3f}: %{y} tokens<extra></extra>',
      },
    ];
    const layout: Partial<Layout> = {
      ...compact,
      xaxis: { title: { text: 'logit weight (all vocabulary)', standoff: 4 }, zeroline: true },
      yaxis: { title: { text: 'tokens' }, rangemode: 'tozero' },
    };
    return { data, layout };
  }, [histogram]);
  if (histogram.counts.length === 0) return null;
  return (
    <Plot
      testId="logit-histogram"
      data={data}
      layout={layout}
      height={150}
      config={NO_MODEBAR}
      description={`Histogram of the logit weights of every vocabulary token, ${range(histogram)}.`}
    />
  );
}

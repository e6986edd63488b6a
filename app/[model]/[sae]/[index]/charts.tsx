'use client';
/** The feature page's histograms, through the shared Plotly component. */
import type { Data, Layout } from 'plotly.js';
import { useMemo } from 'react';
import type { Histogram } from '@/compute/dashboards/types';
import { Plot } from '../../../_components/plot';

const ORANGE = '#e07000';
const BLUE = '#1f5fbf';
const RED = '#c8281e';

const NO_MODEBAR = { displayModeBar: false };
const compact: Partial<Layout> = { margin: { l: 44, r: 8, t: 8, b: 36 }, bargap: 0.05, showlegend: false };

function centres(h: Histogram): { x: number[]; width: number } {
  const x = h.counts.map((_, i) => (h.edges[i]! + h.edges[i + 1]!) / 2);
  return { x, width: h.edges.length > 1 ? h.edges[1]! - h.edges[0]! : 1 };
}

export function ActivationHistogram({ histogram, nTokens, nonzero }: { histogram: Histogram; nTokens: number; nonzero: number }) {
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
      description={`Histogram of the ${nonzero.toLocaleString('en')} non-zero activations (of ${nTokens.toLocaleString('en')} tokens), from ${histogram.edges[0]?.toFixed(3)} to ${histogram.edges.at(-1)?.toFixed(3)}.`}
    />
  );
}

export function LogitHistogram({ histogram }: { histogram: Histogram }) {
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
      description={`Histogram of the logit weights of every vocabulary token, from ${histogram.edges[0]?.toFixed(3)} to ${histogram.edges.at(-1)?.toFixed(3)}.`}
    />
  );
}

'use client';
/**
 * A Plotly chart (plotly.js-dist-min, loaded in the browser only, on first use). The server renders a placeholder of
 * the same size with a text description, so pages stay readable before the library arrives and without scripts.
 * Selection and click events are passed on (lasso/box selection on 2-D charts).
 */
import type { Config, Data, Layout, PlotMouseEvent, PlotSelectionEvent } from 'plotly.js';
import { useEffect, useRef, useState } from 'react';

type PlotlyModule = typeof import('plotly.js');
let plotlyPromise: Promise<PlotlyModule> | null = null;
function loadPlotly(): Promise<PlotlyModule> {
  plotlyPromise ??= import('plotly.js-dist-min').then((m) => (m.default ?? m) as PlotlyModule);
  return plotlyPromise;
}

/**
 * `text` as Plotly shows it literally. Plotly reads hover text, trace names and annotations as a small HTML subset
 * (`<b>`, `<br>`, `<a href>`, `<span style>`) and decodes entities, so a label or token piece must be escaped before
 * it reaches a chart.
 */
export function plotlyText(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/**
 * Whether WebGL traces (scattergl) can be drawn: Plotly's WebGL layer (regl) compiles its draw calls with
 * `new Function`, which the Content-Security-Policy (no 'unsafe-eval') refuses. Charts use SVG traces instead then.
 */
let webgl: boolean | undefined;
export function webglAllowed(): boolean {
  if (webgl === undefined) {
    try {
      new Function('');
      webgl = true;
    } catch {
      webgl = false; // (the browser logs the refusal once)
    }
  }
  return webgl;
}

export interface PlotProps {
  data: Data[];
  layout?: Partial<Layout>;
  config?: Partial<Config>;
  /** CSS height of the chart */
  height?: number;
  /** what the chart shows, for screen readers and before it has loaded */
  description: string;
  onSelected?: (event: PlotSelectionEvent | undefined) => void;
  onClick?: (event: PlotMouseEvent) => void;
  testId?: string;
}

const BASE_LAYOUT: Partial<Layout> = {
  margin: { l: 56, r: 16, t: 36, b: 48 },
  font: { family: 'system-ui, -apple-system, "Segoe UI", sans-serif', size: 12, color: '#1b1f24' },
  paper_bgcolor: '#ffffff',
  plot_bgcolor: '#ffffff',
  hovermode: 'closest',
  // Above the plot, so it never collides with the x axis title.
  legend: { orientation: 'h', x: 0, y: 1.02, xanchor: 'left', yanchor: 'bottom' },
};

export function Plot(props: PlotProps) {
  const ref = useRef<HTMLDivElement>(null);
  const [state, setState] = useState<'loading' | 'ready' | 'failed'>('loading');
  const handlers = useRef({ onSelected: props.onSelected, onClick: props.onClick });
  handlers.current = { onSelected: props.onSelected, onClick: props.onClick };

  useEffect(() => {
    const el = ref.current;
    if (!el) return;
    let cancelled = false;
    let plotly: PlotlyModule | null = null;
    loadPlotly()
      .then(async (p) => {
        if (cancelled) return;
        plotly = p;
        await p.react(el, props.data, { ...BASE_LAYOUT, height: props.height ?? 360, ...props.layout }, {
          responsive: true,
          displaylogo: false,
          modeBarButtonsToRemove: ['sendDataToCloud'],
          ...props.config,
        });
        const node = el as unknown as import('plotly.js').PlotlyHTMLElement;
        node.removeAllListeners?.('plotly_selected');
        node.removeAllListeners?.('plotly_click');
        node.removeAllListeners?.('plotly_deselect');
        node.on('plotly_selected', (e) => handlers.current.onSelected?.(e));
        node.on('plotly_deselect', () => handlers.current.onSelected?.(undefined));
        node.on('plotly_click', (e) => handlers.current.onClick?.(e));
        if (!cancelled) setState('ready');
      })
      .catch(() => !cancelled && setState('failed'));
    return () => {
      cancelled = true;
      if (plotly && el) plotly.purge(el);
    };
  }, [props.data, props.layout, props.config, props.height]);

  return (
    <figure className="plot" data-testid={props.testId} data-state={state} aria-label={props.description}>
      <div ref={ref} style={{ minHeight: props.height ?? 360 }} />
      {state !== 'ready' && (
        <figcaption className="muted plot-placeholder">
          {state === 'failed' ? 'The chart could not be drawn. ' : ''}
          {props.description}
        </figcaption>
      )}
    </figure>
  );
}

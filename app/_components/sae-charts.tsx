'use client';
/**
 * The SAE overview's charts (Plotly): metrics by token position, the log10-density histogram, and the scatter of
 * log density × encoder bias × D/E projection (3-D, and its 2-D projections) where a lasso or box selection lists
 * the features inside it. Markers differ in shape as well as colour (labelled ●, unlabelled ○, dead ×).
 */
import type { Data, Layout, PlotSelectionEvent } from 'plotly.js';
import Link from 'next/link';
import { useQuery } from '@tanstack/react-query';
import { useEffect, useMemo, useRef, useState, type RefObject } from 'react';
import type { ScatterPoints, StoredEvals } from '@/server/saes';
import { featureHref } from '@/server/addresses';
import { useTRPC } from '../trpc';
import { AddToList } from './add-to-list';
import { CardSnippet, TopTokens } from './feature-card';
import { Plot, plotlyText, webglAllowed } from './plot';

const BLUE = '#1f5fbf';
const ORANGE = '#c2571a';
const GREY = '#6b7280';

export function ByPositionChart(props: { evals: StoredEvals; trainedContext: number | null }) {
  const { data, layout } = useMemo(() => {
    const rows = props.evals.byPosition;
    const x = rows.map((r) => r.position);
    const data: Data[] = [
      { x, y: rows.map((r) => r.varianceExplained), name: 'variance explained', type: 'scatter', mode: 'lines', line: { color: BLUE, width: 2 } },
      { x, y: rows.map((r) => r.ceRecovered), name: 'CE loss recovered (mean ablation)', type: 'scatter', mode: 'lines', line: { color: ORANGE, width: 2, dash: 'dash' } },
      { x, y: rows.map((r) => r.l0), name: 'L0 (right axis)', type: 'scatter', mode: 'lines', yaxis: 'y2', line: { color: GREY, width: 1.5, dash: 'dot' } },
    ];
    // Position 0 (BOS) is often far off (its activation is nothing like the rest): keep the axis on the others.
    const rest = rows.slice(1).flatMap((r) => [r.varianceExplained, r.ceRecovered]).filter((v): v is number => v !== null && Number.isFinite(v));
    const lo = Math.max(-0.5, Math.min(0, ...rest) - 0.05);
    const layout: Partial<Layout> = {
      // One set of gridlines (the left axis's); the right axis starts at 0 with round ticks and draws no zero line.
      xaxis: { title: { text: 'token position' }, zeroline: false },
      yaxis: { title: { text: 'fraction (clipped below ' + lo.toFixed(2) + ')' }, range: [lo, 1.05], zeroline: false },
      yaxis2: { title: { text: 'L0' }, overlaying: 'y', side: 'right', showgrid: false, zeroline: false, rangemode: 'tozero', tickmode: 'auto', nticks: 6 },
      margin: { l: 56, r: 56, t: 36, b: 48 },
      shapes:
        props.trainedContext !== null && props.trainedContext < rows.length
          ? [{ type: 'line', x0: props.trainedContext, x1: props.trainedContext, yref: 'paper', y0: 0, y1: 1, line: { color: GREY, dash: 'dot', width: 1 } }]
          : [],
      annotations:
        props.trainedContext !== null && props.trainedContext < rows.length
          ? [{ x: props.trainedContext, yref: 'paper', y: 1, text: 'trained context', showarrow: false, xanchor: 'left', font: { size: 11, color: GREY } }]
          : [],
    };
    return { data, layout };
  }, [props.evals, props.trainedContext]);
  return (
    <Plot
      testId="by-position"
      data={data}
      layout={layout}
      height={320}
      description={`Variance explained, CE loss recovered and L0 at each of ${props.evals.byPosition.length} token positions.`}
    />
  );
}

export function DensityHistogram(props: { histogram: StoredEvals['densityHistogram']; nTokens: number }) {
  const { data, layout } = useMemo(() => {
    const { edges, counts, dead } = props.histogram;
    const centres = counts.map((_, i) => (edges[i]! + edges[i + 1]!) / 2);
    const width = edges.length > 1 ? edges[1]! - edges[0]! : 0.1;
    const deadAt = (edges[0] ?? -6) - width * 1.5;
    const data: Data[] = [
      { x: centres, y: counts, type: 'bar', name: 'features that fired', marker: { color: BLUE }, width, hovertemplate: 'log10 density %{x:.2f}: %{y} features<extra></extra>' },
      {
        x: [deadAt],
        y: [dead],
        type: 'bar',
        name: `dead (no firing in ${props.nTokens.toLocaleString('en')} tokens)`,
        marker: { color: GREY, pattern: { shape: 'x' } },
        width,
        hovertemplate: `dead: %{y} features<extra></extra>`,
      },
    ];
    const layout: Partial<Layout> = {
      // short enough for a phone's width; the description says what density is
      xaxis: { title: { text: 'log10 density' } },
      yaxis: { title: { text: 'features' } },
      bargap: 0.05,
    };
    return { data, layout };
  }, [props.histogram, props.nTokens]);
  const total = props.histogram.counts.reduce((a, b) => a + b, 0) + props.histogram.dead;
  return (
    <Plot
      testId="density-histogram"
      data={data}
      layout={layout}
      height={300}
      description={`Histogram of log10 density (the fraction of tokens where a feature fires) over ${total} features (${props.histogram.dead} dead), measured over ${props.nTokens.toLocaleString('en')} tokens.`}
    />
  );
}

type View = '3d' | 'density-de' | 'density-bias' | 'bias-de';
const VIEWS: { id: View; name: string }[] = [
  { id: 'density-de', name: 'log density × D/E' },
  { id: 'density-bias', name: 'log density × encoder bias' },
  { id: 'bias-de', name: 'encoder bias × D/E' },
  { id: '3d', name: '3-D' },
];

const AXIS = {
  density: 'log10 density',
  bias: 'encoder bias',
  de: 'D/E projection (W_enc·W_dec)',
};

/** Above this many points the 2-D views draw with WebGL (scattergl), where the page's CSP lets Plotly's WebGL layer run. */
const WEBGL_FROM = 5000;
/** the selection lists (and fetches cards for, and adds to a list) this many features: server/feature-cards MAX_CARDS */
const LIST_LIMIT = 200;

/** Below this width (CSS px) the 3-D view is a cube seen from farther off. */
const NARROW_3D = 600;

/**
 * The 3-D scene for a chart `width` px wide. The perspective's field of view is vertical, so a scene as tall as it
 * is wide leaves the sides empty on a desktop, and a narrow one (a phone) cuts the axis titles off at the sides:
 * where there is room the box is wider than tall, and on a narrow chart the camera stands back (farther on the
 * narrowest). The camera looks a little below the centre, lifting the box off the bottom, where the titles are.
 * Both were checked at 300 to 2,000 px wide: no axis title or tick label reaches the chart's edge.
 */
function scene3d(width: number): Partial<Layout['scene']> {
  const axes = { xaxis: { title: { text: AXIS.density } }, yaxis: { title: { text: AXIS.bias } }, zaxis: { title: { text: 'D/E' } } };
  if (width >= NARROW_3D) {
    return { ...axes, aspectmode: 'manual', aspectratio: { x: 1.8, y: 1.8, z: 0.9 }, camera: { eye: { x: 2.1, y: 2.1, z: 1.1 }, center: { x: 0, y: 0, z: -0.2 } } };
  }
  // a title's offset from its axis is a fixed number of pixels: the narrower the chart, the farther back
  const back = Math.max(1, (400 / width) ** 2);
  return { ...axes, aspectmode: 'cube', camera: { eye: { x: 2.05 * back, y: 2.05 * back, z: 1.15 * back }, center: { x: 0, y: 0, z: -0.15 } } };
}

/** The element's width in CSS px, followed as it changes (0 until measured). */
function useWidth(ref: RefObject<HTMLElement | null>): number {
  const [width, setWidth] = useState(0);
  useEffect(() => {
    const el = ref.current;
    if (!el) return;
    const observer = new ResizeObserver(() => setWidth(el.clientWidth));
    observer.observe(el);
    return () => observer.disconnect();
  }, [ref]);
  return width;
}

export function SaeScatter(props: { points: ScatterPoints; model: string; sae: string; /** may add features to lists */ canList: boolean }) {
  const [view, setView] = useState<View>('density-de');
  const [selected, setSelected] = useState<number[] | null>(null);
  const box = useRef<HTMLDivElement>(null);
  // the 3-D scene changes only across NARROW_3D and for phones' widths, not on every pixel of a resize
  const width = useWidth(box);
  const sceneWidth = width >= NARROW_3D ? NARROW_3D : Math.max(300, Math.round(width / 10) * 10);
  const p = props.points;
  const floor = Math.floor(Math.log10(1 / Math.max(1, p.nTokens)));
  /** dead features (density 0) sit half a decade below the measurable floor */
  const deadAt = floor - 0.5;
  const logDensity = useMemo(() => p.density.map((d) => (d > 0 ? Math.log10(d) : deadAt)), [p.density, deadAt]);

  const groups = useMemo(() => {
    const labelled: number[] = [];
    const unlabelled: number[] = [];
    const dead: number[] = [];
    p.index.forEach((_, i) => {
      if (p.density[i] === 0) dead.push(i);
      else if (p.labels[p.index[i]!] !== undefined) labelled.push(i);
      else unlabelled.push(i);
    });
    return [
      { rows: labelled, name: 'labelled', symbol: 'circle', color: BLUE },
      { rows: unlabelled, name: 'unlabelled', symbol: 'circle-open', color: ORANGE },
      { rows: dead, name: `dead (0 in ${p.nTokens.toLocaleString('en')} tokens)`, symbol: 'x', color: GREY },
    ];
  }, [p]);

  const { data, layout } = useMemo(() => {
    const value = { density: logDensity, bias: p.encoderBias, de: p.deDot };
    const [xKey, yKey] = view === 'density-de' ? (['density', 'de'] as const) : view === 'density-bias' ? (['density', 'bias'] as const) : (['bias', 'de'] as const);
    const text = (rows: number[]) => rows.map((i) => `#${p.index[i]}${p.labels[p.index[i]!] ? ` ${plotlyText(p.labels[p.index[i]!]!)}` : ''}`);
    if (view === '3d') {
      const data: Data[] = groups.map((g) => ({
        type: 'scatter3d',
        mode: 'markers',
        name: g.name,
        x: g.rows.map((i) => logDensity[i]!),
        y: g.rows.map((i) => p.encoderBias[i]!),
        z: g.rows.map((i) => p.deDot[i]!),
        text: text(g.rows),
        customdata: g.rows.map((i) => p.index[i]!),
        hovertemplate: '%{text}<br>log10 density %{x:.3f}<br>bias %{y:.3f}<br>D/E %{z:.3f}<extra></extra>',
        marker: { size: 2.5, color: g.color, symbol: g.symbol === 'circle-open' ? 'circle-open' : g.symbol === 'x' ? 'x' : 'circle' },
      }));
      const layout: Partial<Layout> = { scene: scene3d(sceneWidth), margin: { l: 0, r: 0, t: 24, b: 0 } };
      return { data, layout };
    }
    const gl = p.index.length >= WEBGL_FROM && webglAllowed();
    const data: Data[] = groups.map((g) => ({
      type: gl ? 'scattergl' : 'scatter',
      mode: 'markers',
      name: g.name,
      x: g.rows.map((i) => value[xKey][i]!),
      y: g.rows.map((i) => value[yKey][i]!),
      text: text(g.rows),
      customdata: g.rows.map((i) => p.index[i]!),
      hovertemplate: `%{text}<br>${AXIS[xKey]} %{x:.3f}<br>${AXIS[yKey]} %{y:.3f}<extra></extra>`,
      marker: { size: gl ? 4 : 6, color: g.color, symbol: g.symbol, opacity: 0.8, line: { width: 1, color: g.color } },
    }));
    const layout: Partial<Layout> = {
      dragmode: 'lasso',
      xaxis: { title: { text: AXIS[xKey] }, zeroline: false },
      yaxis: { title: { text: AXIS[yKey] }, zeroline: false },
      shapes: yKey === 'de' ? [{ type: 'line', xref: 'paper', x0: 0, x1: 1, y0: 1, y1: 1, line: { color: GREY, dash: 'dot', width: 1 } }] : [],
    };
    return { data, layout };
  }, [view, groups, logDensity, p, sceneWidth]);

  const onSelected = (event: PlotSelectionEvent | undefined) => {
    if (!event) return setSelected(null);
    const indices = event.points.map((pt) => pt.customdata as unknown as number);
    setSelected([...new Set(indices)].sort((a, b) => a - b));
  };
  const byIndex = useMemo(() => new Map(p.index.map((index, i) => [index, i])), [p.index]);
  const shown = useMemo(() => selected?.slice(0, LIST_LIMIT) ?? [], [selected]);
  const trpc = useTRPC();
  const cards = useQuery(trpc.sae.cards.queryOptions({ model: props.model, sae: props.sae, indices: shown }, { enabled: shown.length > 0 }));
  const cardOf = useMemo(() => new Map(cards.data?.map((c) => [c.index, c])), [cards.data]);

  return (
    <div ref={box}>
      <div className="tabs" role="tablist" aria-label="Scatter view">
        {VIEWS.map((v) => (
          <button
            key={v.id}
            type="button"
            role="tab"
            aria-selected={view === v.id}
            className={view === v.id ? 'tab active' : 'tab'}
            onClick={() => {
              setView(v.id);
              setSelected(null);
            }}
          >
            {v.name}
          </button>
        ))}
      </div>
      <Plot
        testId="sae-scatter"
        data={data}
        layout={layout}
        height={460}
        onSelected={onSelected}
        description={`${p.index.length} features: log10 density against encoder bias and D/E projection; dead features at ${deadAt}. ${
          view === '3d' ? 'Drag to rotate.' : 'Draw a lasso or box to list the features inside it.'
        }`}
      />
      <p className="muted small">
        {view === '3d'
          ? 'Drag to rotate, scroll to zoom; switch to a 2-D view to select a region.'
          : 'Drag a lasso (or pick box select in the toolbar) round a cluster to list its features; double-click to clear.'}{' '}
        D/E is the projection W_enc[:, f]·W_dec[f] of a feature's decoder direction on its own encoder direction; the dotted line marks 1.
      </p>
      {selected && (
        <section aria-live="polite" data-testid="selection">
          <h3>
            {selected.length} selected feature{selected.length === 1 ? '' : 's'}
            {selected.length > LIST_LIMIT ? ` (first ${LIST_LIMIT} shown)` : ''}
          </h3>
          {props.canList && shown.length > 0 && (
            <AddToList model={props.model} sae={props.sae} indices={shown} action={`Add ${selected.length > LIST_LIMIT ? 'the first ' : 'these '}${shown.length} to a list`} />
          )}
          <div className="table-scroll">
            <table>
              <thead>
                <tr>
                  <th>feature</th>
                  <th>label</th>
                  <th>top tokens</th>
                  <th>snippet</th>
                  <th className="num">log10 density</th>
                  <th className="num">encoder bias</th>
                  <th className="num">D/E</th>
                </tr>
              </thead>
              <tbody>
                {shown.map((index) => {
                  const i = byIndex.get(index)!;
                  const card = cardOf.get(index);
                  return (
                    <tr key={index}>
                      <td>
                        <Link href={featureHref({ model: props.model, sae: props.sae, index })}>#{index}</Link>
                      </td>
                      <td>{p.labels[index] ?? <span className="muted">unlabelled</span>}</td>
                      <td>{card ? <TopTokens card={card} /> : <span className="muted">{cards.isPending ? '…' : '—'}</span>}</td>
                      <td className="snippet-cell">{card ? <CardSnippet snippet={card.snippet} /> : <span className="muted">{cards.isPending ? '…' : '—'}</span>}</td>
                      <td className="num">{p.density[i] === 0 ? 'dead' : logDensity[i]!.toFixed(2)}</td>
                      <td className="num">{p.encoderBias[i]!.toFixed(3)}</td>
                      <td className="num">{p.deDot[i]!.toFixed(3)}</td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          </div>
        </section>
      )}
    </div>
  );
}

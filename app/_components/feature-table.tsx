/**
 * An SAE's feature table (server-rendered): sorting, filters and keyset pagination, all in the URL, so every view
 * of the table is a link that can be shared and works without scripts. The filter form submits with GET. Its links
 * are plain anchors: each view is a full page load, whose HTML carries the rows (./server-html, rowsOnce).
 */
import type { FeatureTablePage } from '@/server/saes';
import { cursorToString } from '@/server/saes';
import { keepHtml } from '@/server/html-cache';
import { featureRowsHtml } from './feature-rows';
import { ServerHtml } from './server-html';

export interface TableParams {
  sort: 'index' | 'density' | 'maxAct' | 'encoderBias' | 'deCos';
  dir: 'asc' | 'desc';
  min?: number;
  max?: number;
  status: 'all' | 'alive' | 'dead' | 'ultraRare';
  labelled: 'any' | 'yes' | 'no';
  hypotheses: 'any' | 'open';
  after?: string;
  before?: string;
}

export const TABLE_DEFAULTS: TableParams = { sort: 'density', dir: 'desc', status: 'all', labelled: 'any', hypotheses: 'any' };

/** The table's query from a page's search params; unknown values fall back to the defaults. */
export function tableParams(search: Record<string, string | string[] | undefined>): TableParams {
  const one = (k: string) => (typeof search[k] === 'string' ? (search[k] as string) : undefined);
  const pick = <T extends string>(value: string | undefined, allowed: readonly T[], fallback: T): T =>
    allowed.includes(value as T) ? (value as T) : fallback;
  const num = (k: string) => {
    const v = one(k);
    if (v === undefined || v.trim() === '') return undefined;
    const n = Number(v);
    return Number.isFinite(n) && n <= 0 && n >= -20 ? n : undefined;
  };
  return {
    sort: pick(one('sort'), ['index', 'density', 'maxAct', 'encoderBias', 'deCos'] as const, TABLE_DEFAULTS.sort),
    dir: pick(one('dir'), ['asc', 'desc'] as const, TABLE_DEFAULTS.dir),
    min: num('min'),
    max: num('max'),
    status: pick(one('status'), ['all', 'alive', 'dead', 'ultraRare'] as const, TABLE_DEFAULTS.status),
    labelled: pick(one('labelled'), ['any', 'yes', 'no'] as const, TABLE_DEFAULTS.labelled),
    hypotheses: pick(one('hypotheses'), ['any', 'open'] as const, TABLE_DEFAULTS.hypotheses),
    after: one('after'),
    before: one('before'),
  };
}

export function tableHref(base: string, params: TableParams, change: Partial<TableParams> = {}): string {
  const merged = { ...params, ...change };
  const qs = new URLSearchParams();
  for (const key of ['sort', 'dir', 'min', 'max', 'status', 'labelled', 'hypotheses', 'after', 'before'] as const) {
    const value = merged[key];
    if (value === undefined || value === (TABLE_DEFAULTS as unknown as Record<string, unknown>)[key]) continue;
    qs.set(key, String(value));
  }
  const s = qs.toString();
  return s ? `${base}?${s}` : base;
}

const COLUMNS: { key: TableParams['sort'] | null; name: string; numeric: boolean; className?: string }[] = [
  { key: 'index', name: 'feature', numeric: false },
  { key: null, name: 'label', numeric: false, className: 'label-cell' },
  { key: null, name: 'top tokens', numeric: false },
  { key: null, name: 'snippet', numeric: false, className: 'snippet-cell' },
  { key: 'density', name: 'density', numeric: true },
  { key: 'maxAct', name: 'max act', numeric: true },
  { key: 'encoderBias', name: 'encoder bias', numeric: true },
  { key: 'deCos', name: 'D/E cos', numeric: true },
];

export function FeatureTable(props: {
  model: string;
  sae: string;
  /** where the table lives (its links and form point there) */
  base: string;
  params: TableParams;
  page: FeatureTablePage;
  ultraRareDensity: number;
  /** show the filter form (the overview's preview leaves it to the full table) */
  filters?: boolean;
  /** the id of the form (./add-to-list) that each row's checkbox belongs to; no checkboxes without it */
  selectionForm?: string;
  /**
   * send the rows once, in the page's HTML only (./server-html): for a page that is only ever loaded in full. Without
   * it they are in the flight data too, for a page that client navigations reach (the SAE overview's preview).
   */
  rowsOnce?: boolean;
}) {
  const { params, page, base } = props;
  const resetPaging = { after: undefined, before: undefined };
  const { model, sae, ultraRareDensity, selectionForm } = props;
  const rows = featureRowsHtml(page.rows, { model, sae, ultraRareDensity, selectionForm, columns: COLUMNS.length + (selectionForm ? 1 : 0) });
  const rowsKey = props.rowsOnce ? keepHtml('feature-rows', rows) : undefined;
  return (
    <div data-testid="feature-table">
      {props.filters !== false && (
        <form method="get" action={base} className="filters" aria-label="Filter features">
          <label>
            Sort by
            <select name="sort" defaultValue={params.sort}>
              <option value="density">density</option>
              <option value="maxAct">max activation</option>
              <option value="encoderBias">encoder bias</option>
              <option value="deCos">D/E cosine</option>
              <option value="index">index</option>
            </select>
          </label>
          <label>
            Order
            <select name="dir" defaultValue={params.dir}>
              <option value="desc">descending</option>
              <option value="asc">ascending</option>
            </select>
          </label>
          <label>
            log10 density ≥
            <input name="min" type="number" step="0.1" min="-20" max="0" defaultValue={params.min ?? ''} placeholder="e.g. −5" inputMode="decimal" />
          </label>
          <label>
            log10 density ≤
            <input name="max" type="number" step="0.1" min="-20" max="0" defaultValue={params.max ?? ''} placeholder="e.g. −1" inputMode="decimal" />
          </label>
          <label>
            Firing
            <select name="status" defaultValue={params.status}>
              <option value="all">all features</option>
              <option value="alive">fired at least once</option>
              <option value="dead">dead (never fired)</option>
              <option value="ultraRare">ultra-rare (density &lt; {props.ultraRareDensity.toExponential(0)})</option>
            </select>
          </label>
          <label>
            Label
            <select name="labelled" defaultValue={params.labelled}>
              <option value="any">labelled or not</option>
              <option value="yes">labelled</option>
              <option value="no">not labelled</option>
            </select>
          </label>
          <label>
            Hypotheses
            <select name="hypotheses" defaultValue={params.hypotheses}>
              <option value="any">with or without</option>
              <option value="open">has open hypotheses</option>
            </select>
          </label>
          <button type="submit">Apply</button>
          <a href={base} className="small">
            Reset
          </a>
        </form>
      )}
      <p className="muted" data-testid="feature-count">
        {page.total.toLocaleString('en')}
        {page.capped ? '+' : ''} feature{page.total === 1 ? '' : 's'} match
      </p>
      <div className="table-scroll">
        <table className="features">
          <thead>
            <tr>
              {props.selectionForm && (
                <th>
                  <span className="sr-only">select</span>
                </th>
              )}
              {COLUMNS.map((c) => {
                const active = c.key === params.sort;
                const nextDir = active && params.dir === 'desc' ? 'asc' : 'desc';
                return (
                  <th key={c.name} className={c.numeric ? 'num' : c.className} aria-sort={active ? (params.dir === 'asc' ? 'ascending' : 'descending') : undefined}>
                    {c.key ? (
                      <a href={tableHref(base, params, { sort: c.key, dir: nextDir, ...resetPaging })} title={`sort by ${c.name}`}>
                        {c.name}
                        {active ? (params.dir === 'asc' ? ' ▲' : ' ▼') : ''}
                      </a>
                    ) : (
                      c.name
                    )}
                  </th>
                );
              })}
            </tr>
          </thead>
          {rowsKey ? <ServerHtml as="tbody" key={rowsKey} htmlKey={rowsKey} /> : <tbody dangerouslySetInnerHTML={{ __html: rows }} />}
        </table>
      </div>
      <nav className="pager" aria-label="Feature table pages">
        {page.previous || params.after || params.before ? (
          <a href={tableHref(base, params, resetPaging)}>⇤ First</a>
        ) : (
          <span className="muted">⇤ First</span>
        )}
        {page.previous ? (
          <a href={tableHref(base, params, { after: undefined, before: cursorToString(page.previous) })} rel="prev">
            ← Previous
          </a>
        ) : (
          <span className="muted">← Previous</span>
        )}
        {page.next ? (
          <a href={tableHref(base, params, { before: undefined, after: cursorToString(page.next) })} rel="next" data-testid="next-page">
            Next →
          </a>
        ) : (
          <span className="muted">Next →</span>
        )}
      </nav>
    </div>
  );
}

/**
 * Registered SAEs (rows) and what the wiki shows about a whole SAE: labelling progress, the overview (evals,
 * density histogram, the density × encoder bias × D/E scatter) and the feature table with keyset pagination.
 * Registering SAEs from disk is in ./register-saes (it needs the worker).
 */
import { and, eq, sql, type SQL } from 'drizzle-orm';
import { saes, type DashboardRunSource } from '@/drizzle/schema';
import type { SaeEvals } from '@/compute/dashboards/types';
import { visibleSaeSql, type Viewer } from './authz';
import type { Db } from './db';
import type { ResolvedSae } from './visibility';
import { visibleHypothesisSql } from './hypotheses';
import { CARD_COLUMNS, cardEvidence, type FeatureCard } from './feature-cards';

export type SaeRow = typeof saes.$inferSelect;

/** Features below this density (and above 0) are ultra-rare when a run's evals do not say otherwise (log10 < −5). */
export const DEFAULT_ULTRA_RARE_DENSITY = 1e-5;

export async function listSaes(db: Db, modelId: string): Promise<SaeRow[]> {
  return db.select().from(saes).where(eq(saes.modelId, modelId)).orderBy(saes.hookName, saes.slug);
}

export async function getSaeBySlug(db: Db, modelId: string, slug: string): Promise<SaeRow | undefined> {
  return db.query.saes.findFirst({ where: and(eq(saes.modelId, modelId), eq(saes.slug, slug)) });
}

// ---- labelling progress ---------------------------------------------------------------------------------------

export interface SaeSummary {
  id: string;
  modelSlug: string;
  slug: string;
  hookName: string;
  architecture: string;
  dSae: number;
  /** features whose page has a non-empty label */
  labelled: number;
  /** features with dashboards in the current run (0 before the first run) */
  computed: number;
  /** tokens the current run measured densities over */
  nTokens: number | null;
  deadFraction: number | null;
  ultraRareFraction: number | null;
  l0: number | null;
  varianceExplained: number | null;
  ceRecovered: number | null;
  runCompletedAt: Date | null;
}

/** Every SAE `viewer` may see (of one model, or of all), with labelled / total and headline evals: one query. */
export async function saeSummaries(db: Db, viewer: Viewer, filter: { modelId?: string } = {}): Promise<SaeSummary[]> {
  const { rows } = await db.execute<Record<string, unknown>>(sql`
    select s.id, m.slug as model_slug, s.slug, s.hook_name, s.architecture, s.d_sae,
           (select count(*) from feature_page p where p.sae_id = s.id and p.label <> '')::int as labelled,
           coalesce((r.evals->>'nFeatures')::int, 0) as computed_hint,
           r.id as run_id, r.n_tokens, r.completed_at,
           (r.evals->>'deadFraction')::float8 as dead_fraction,
           (r.evals->>'ultraRareFraction')::float8 as ultra_rare_fraction,
           (r.evals->>'l0')::float8 as l0,
           (r.evals->>'varianceExplained')::float8 as variance_explained,
           (r.evals->>'ceRecovered')::float8 as ce_recovered
      from sae s
      join model m on m.id = s.model_id
      left join dashboard_run r on r.id = s.current_run_id
     where ${filter.modelId ? sql`s.model_id = ${filter.modelId}` : sql`true`} and ${visibleSaeSql(viewer, sql`s.id`)}
     order by m.slug, s.hook_name, s.slug`);
  return rows.map((r) => ({
    id: r.id as string,
    modelSlug: r.model_slug as string,
    slug: r.slug as string,
    hookName: r.hook_name as string,
    architecture: r.architecture as string,
    dSae: r.d_sae as number,
    labelled: r.labelled as number,
    computed: r.run_id ? ((r.computed_hint as number) || (r.d_sae as number)) : 0,
    nTokens: r.n_tokens === null ? null : Number(r.n_tokens),
    deadFraction: r.dead_fraction as number | null,
    ultraRareFraction: r.ultra_rare_fraction as number | null,
    l0: r.l0 as number | null,
    varianceExplained: r.variance_explained as number | null,
    ceRecovered: r.ce_recovered as number | null,
    runCompletedAt: r.completed_at ? new Date(r.completed_at as string) : null,
  }));
}

// ---- overview --------------------------------------------------------------------------------------------------

export type StoredEvals = Omit<SaeEvals, 'firingCounts'>;

export interface SaeOverview {
  sae: Omit<SaeRow, 'path'> & { modelSlug: string };
  labelled: number;
  run: {
    id: string;
    corpusName: string;
    corpusTokens: number;
    nTokens: number | null;
    completedAt: Date | null;
    evals: StoredEvals | null;
    /** where an imported run came from (null: computed here) */
    source: DashboardRunSource | null;
  } | null;
}

export async function saeOverview(db: Db, found: ResolvedSae): Promise<SaeOverview | undefined> {
  const [sae] = await db.select().from(saes).where(eq(saes.id, found.saeId));
  if (!sae) return undefined;
  const { path: _path, ...row } = sae;
  const rest = { ...row, modelSlug: found.modelSlug };
  const { rows } = await db.execute<Record<string, unknown>>(sql`
    select (select count(*) from feature_page p where p.sae_id = ${sae.id} and p.label <> '')::int as labelled,
           r.id as run_id, r.n_tokens, r.completed_at, r.evals, r.source, c.name as corpus_name, c.n_tokens as corpus_tokens
      from (select 1) one
      left join dashboard_run r on r.id = ${sae.currentRunId}
      left join corpus c on c.id = r.corpus_id`);
  const r = rows[0]!;
  return {
    sae: rest,
    labelled: r.labelled as number,
    run: r.run_id
      ? {
          id: r.run_id as string,
          corpusName: r.corpus_name as string,
          corpusTokens: Number(r.corpus_tokens),
          nTokens: r.n_tokens === null ? null : Number(r.n_tokens),
          completedAt: r.completed_at ? new Date(r.completed_at as string) : null,
          evals: r.evals as StoredEvals | null,
          source: r.source as DashboardRunSource | null,
        }
      : null,
  };
}

/**
 * Every feature of a run as columns (compact for the browser: 4 significant digits): density, encoder bias and
 * D/E projection, and the labels of the labelled ones. Dead features have density 0; the chart places them below
 * the measurable floor, 1 / nTokens.
 */
export interface ScatterPoints {
  index: number[];
  density: number[];
  encoderBias: number[];
  deDot: number[];
  deCos: number[];
  /** index → label, for labelled features */
  labels: Record<number, string>;
  /** the tokens the densities were measured over */
  nTokens: number;
}

const round4 = (x: number) => (x === 0 || !Number.isFinite(x) ? x : Number(x.toPrecision(4)));

export async function scatterPoints(db: Db, saeId: string, runId: string): Promise<ScatterPoints> {
  const { rows } = await db.execute<{ index: number; density: number; encoder_bias: number; de_dot: number; de_cos: number; label: string | null; n_tokens: string }>(sql`
    select f.index, f.density, f.encoder_bias, f.de_dot, f.de_cos, f.n_tokens, p.label
      from feature f
      left join feature_page p on p.sae_id = ${saeId} and p.index = f.index and p.label <> ''
     where f.run_id = ${runId}
     order by f.index`);
  const points: ScatterPoints = { index: [], density: [], encoderBias: [], deDot: [], deCos: [], labels: {}, nTokens: 0 };
  for (const r of rows) {
    points.index.push(r.index);
    points.density.push(round4(r.density));
    points.encoderBias.push(round4(r.encoder_bias));
    points.deDot.push(round4(r.de_dot));
    points.deCos.push(round4(r.de_cos));
    if (r.label) points.labels[r.index] = r.label;
    points.nTokens = Math.max(points.nTokens, Number(r.n_tokens));
  }
  return points;
}

// ---- the feature table ------------------------------------------------------------------------------------------

export const FEATURE_SORTS = ['index', 'density', 'maxAct', 'encoderBias', 'deCos'] as const;
export type FeatureSort = (typeof FEATURE_SORTS)[number];
const SORT_COLUMN: Record<FeatureSort, { column: SQL; cast: SQL }> = {
  index: { column: sql.raw('f.index'), cast: sql.raw('int') },
  density: { column: sql.raw('f.density'), cast: sql.raw('float8') },
  maxAct: { column: sql.raw('f.max_act'), cast: sql.raw('real') },
  encoderBias: { column: sql.raw('f.encoder_bias'), cast: sql.raw('real') },
  deCos: { column: sql.raw('f.de_cos'), cast: sql.raw('real') },
};

export type FeatureStatus = 'all' | 'alive' | 'dead' | 'ultraRare';
export type LabelledFilter = 'any' | 'yes' | 'no';
/** 'open': only features with an open hypothesis the viewer can see */
export type HypothesisFilter = 'any' | 'open';

/** A position in the sorted table: the sort key and the index of the row (the tie-break). */
export interface FeatureCursor {
  value: number;
  index: number;
}

export interface FeatureTableQuery {
  sort: FeatureSort;
  dir: 'asc' | 'desc';
  /** log10 density bounds (inclusive); dead features (density 0) only match when no lower bound is set */
  log10DensityMin?: number;
  log10DensityMax?: number;
  status: FeatureStatus;
  labelled: LabelledFilter;
  hypotheses?: HypothesisFilter;
  /** who is looking (the hypotheses filter counts only hypotheses they may see) */
  viewer?: Viewer;
  /** rows after this cursor (next page), or before it (previous page) */
  after?: FeatureCursor;
  before?: FeatureCursor;
  limit: number;
}

/** A row of the table: the feature's card (./feature-cards) and the sortable statistics. */
export interface FeatureTableRow extends FeatureCard {
  maxAct: number;
  encoderBias: number;
  deCos: number;
  deDot: number;
}

export interface FeatureTablePage {
  rows: FeatureTableRow[];
  /** cursors for the neighbouring pages, null at either end */
  next: FeatureCursor | null;
  previous: FeatureCursor | null;
  /** features matching the filters, up to COUNT_CAP + 1 */
  total: number;
  /** total is a lower bound: more than COUNT_CAP match */
  capped: boolean;
  /** features below this density (and above 0) are ultra-rare: the run's evals say, or DEFAULT_ULTRA_RARE_DENSITY */
  ultraRareDensity: number;
}

/** The table counts matching features up to this many. */
export const COUNT_CAP = 10_000;

export function cursorToString(c: FeatureCursor): string {
  return `${c.value}_${c.index}`;
}

export function parseCursor(text: string | undefined | null): FeatureCursor | undefined {
  if (!text) return undefined;
  const match = /^(-?(?:\d+\.?\d*|\.\d+)(?:e[-+]?\d+)?)_(\d+)$/i.exec(text);
  if (!match) return undefined;
  const value = Number(match[1]);
  const index = Number(match[2]);
  return Number.isFinite(value) && Number.isSafeInteger(index) ? { value, index } : undefined;
}

/**
 * One page of a run's features, sorted by one key with the index as tie-break, filtered, by keyset: the cursor
 * is the last (or first) row's key, so pages never skip or repeat rows whatever is inserted meanwhile, and each
 * page is one index range scan (feature_*_idx on (run_id, key, index)). One statement: the run's ultra-rare
 * threshold and feature count, the matches counted, and the page with its cards.
 */
export async function featureTable(
  db: Db,
  sae: { id: string; runId: string; pieces?: string[] | null },
  q: FeatureTableQuery,
): Promise<FeatureTablePage> {
  const { column, cast } = SORT_COLUMN[q.sort];
  const filters: SQL[] = [sql`f.run_id = ${sae.runId}`];
  if (q.log10DensityMin !== undefined) filters.push(sql`f.density >= ${10 ** q.log10DensityMin}::float8`);
  if (q.log10DensityMax !== undefined) filters.push(sql`f.density <= ${10 ** q.log10DensityMax}::float8`);
  if (q.status === 'dead') filters.push(sql`f.nonzero_count = 0`);
  if (q.status === 'alive') filters.push(sql`f.nonzero_count > 0`);
  if (q.status === 'ultraRare') filters.push(sql`f.nonzero_count > 0 and f.density < run.ultra_rare`);
  if (q.labelled === 'yes') filters.push(sql`p.index is not null`);
  if (q.labelled === 'no') filters.push(sql`p.index is null`);
  if (q.hypotheses === 'open')
    filters.push(sql`exists (select 1 from hypothesis_feature hf join hypothesis h on h.id = hf.hypothesis_id
                              where hf.sae_id = ${sae.id} and hf.index = f.index and h.status = 'open'
                                and ${visibleHypothesisSql(q.viewer ?? null, sql`h.id`)})`);
  const where = sql.join(filters, sql` and `);
  const filtered = filters.length > 1;

  // Going backwards reads the reverse order from the cursor, then flips the rows.
  const backwards = q.before !== undefined && q.after === undefined;
  const ascending = (q.dir === 'asc') !== backwards;
  const cursor = backwards ? q.before : q.after;
  const keyset = cursor
    ? ascending
      ? sql` and (${column}, f.index) > (${cursor.value}::${cast}, ${cursor.index}::int)`
      : sql` and (${column}, f.index) < (${cursor.value}::${cast}, ${cursor.index}::int)`
    : sql``;
  const order = ascending ? sql.raw('asc') : sql.raw('desc');
  const from = sql`feature f left join feature_page p on p.sae_id = ${sae.id} and p.index = f.index and p.label <> ''`;
  // The matching features are counted up to COUNT_CAP (an SAE may have millions); unfiltered, the run's size is the count.
  const total = filtered
    ? sql`(select count(*) from (select 1 from ${from} where ${where} limit ${COUNT_CAP + 1}) t)`
    : sql`coalesce(run.n_features, (select count(*) from feature f where f.run_id = ${sae.runId}))`;
  // The run's figures and the count, once (materialized: in the select list beside the page, the count ran per row).
  const { rows: found } = await db.execute<Record<string, unknown>>(sql`
    with run as materialized (
      select run.ultra_rare, ${total}::int as total
        from (select coalesce((r.evals->>'ultraRareDensity')::float8, ${DEFAULT_ULTRA_RARE_DENSITY}::float8) as ultra_rare,
                     (r.evals->>'nFeatures')::int as n_features
                from dashboard_run r where r.id = ${sae.runId}) run)
    select run.ultra_rare, run.total, page.*
      from run
      left join lateral (
        select ${column} as sort_key, f.index, f.density, f.n_tokens, f.max_act, f.encoder_bias, f.de_cos, f.de_dot, p.label, ${CARD_COLUMNS}
          from ${from}
         where ${where}${keyset}
         order by ${column} ${order}, f.index ${order}
         limit ${q.limit + 1}) page on true
     order by page.sort_key ${order}, page.index ${order}`);
  // one row per feature of the page, each with the run's figures; one row of nulls on an empty page
  const head = found[0];
  let rows: FeatureTableRow[] = found
    .filter((r) => r.index !== null)
    .map((r) => ({
      index: r.index as number,
      density: r.density as number,
      nTokens: Number(r.n_tokens),
      maxAct: r.max_act as number,
      encoderBias: r.encoder_bias as number,
      deCos: r.de_cos as number,
      deDot: r.de_dot as number,
      label: (r.label as string | null) ?? null,
      ...cardEvidence(r, sae.pieces ?? null),
    }));
  const more = rows.length > q.limit;
  rows = rows.slice(0, q.limit);
  if (backwards) rows.reverse();
  const key = (row: FeatureTableRow): FeatureCursor => ({ value: sortValue(row, q.sort), index: row.index });
  const first = rows[0];
  const last = rows[rows.length - 1];
  const matching = (head?.total as number | undefined) ?? 0;
  return {
    rows,
    next: last && (backwards ? true : more) ? key(last) : null,
    previous: first && (backwards ? more : cursor !== undefined) ? key(first) : null,
    total: Math.min(matching, COUNT_CAP),
    capped: matching > COUNT_CAP,
    ultraRareDensity: (head?.ultra_rare as number | undefined) ?? DEFAULT_ULTRA_RARE_DENSITY,
  };
}

function sortValue(row: FeatureTableRow, sort: FeatureSort): number {
  return sort === 'index' ? row.index : row[sort];
}

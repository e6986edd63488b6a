/**
 * A feature (model/sae/index) as its page shows it: the computed data of the SAE's current dashboard run (stats,
 * histograms, logit weights, top and quantile-interval examples with their tokens), the human layer (label and
 * markdown description, label proposals and votes), the similar features, the latest recompute job, the reader's
 * access to the SAE and, for the page's render, its hypotheses, backlinks and comment thread, read in one SQL round
 * trip. Token pieces come from the model's vocabulary (./vocabulary).
 */
import { createHash } from 'node:crypto';
import { sql, type SQL } from 'drizzle-orm';
import { PgDialect } from 'drizzle-orm/pg-core';
import type { Pool } from 'pg';
import { MAX_FEATURE_INDEX } from './addresses';
import { saeAccessSql, saeLevelOf, type Level, type Viewer } from './authz';
import { getPool, type Db } from './db';
import { descriptionHtml } from './descriptions';
import { featureThreadSql, type CommentRow } from './comments';
import { backlinksOf, backlinksSql, type Backlink, type BacklinkRow } from './feature-links';
import { featureHypothesesOf, featureHypothesesSql, type HypothesisSummary } from './hypotheses';
import { labelStandingOf, labelStandingSql, type LabelStanding, type StandingRow } from './label-votes';
import { base64Tokens } from './context-tokens';
import { applyChips } from './markdown';
import { similarFeatureGroups, similarFeaturesSql, type NeighbourRow, type SimilarFeatureGroup } from './similar-features';
import { displayNameSql } from './users';
import { pieceOf } from './token-piece';
import { vocabCache } from './vocabulary';
import type { Histogram, TokenWeight } from '@/compute/dashboards/types';
import type { DashboardRunSource } from '@/drizzle/schema';


/** A context shown for a feature, with its tokens and the feature's activation at each. */
export interface FeatureExample {
  kind: 'top' | 'interval' | 'random';
  /** the quantile interval (interval examples), -1 for top and random examples */
  interval: number;
  rank: number;
  contextIndex: number;
  /** the token an interval example was drawn for (its activation lies in the interval) */
  position: number | null;
  maxAct: number;
  maxPos: number;
  tokens: number[];
  acts: number[];
  /** [t] = loss change predicting token t+1 when the feature is ablated (top examples of an ablated run) */
  lossDelta: number[] | null;
}

export interface FeatureInterval {
  /** its place among the feature's intervals as stored, lowest first (an example's `interval`) */
  index: number;
  lo: number;
  hi: number;
  count: number;
  /** how many examples it has: its `examples`, unless they were left out of the read (getFeaturePage's options) */
  exampleCount: number;
  examples: FeatureExample[];
}

export interface FeatureStats {
  nTokens: number;
  nonzeroCount: number;
  /** of nonzeroCount, the firings at BOS (null: computed before BOS was counted) */
  bosCount: number | null;
  /** BOS was left out of the examples, maxAct and the histogram */
  bosExcluded: boolean;
  density: number;
  maxAct: number;
  meanAct: number;
  meanActAll: number;
  histogram: Histogram;
  logitTop: TokenWeight[];
  logitBottom: TokenWeight[];
  /** the final norm folded into W_U (TransformerLens fold_ln); false: raw W_dec·W_U */
  logitFoldLn: boolean;
  logitHistogram: Histogram;
  encoderBias: number;
  encoderNorm: number;
  decoderNorm: number;
  deDot: number;
  deCos: number;
  /**
   * The feature row's version (its xmin): a recompute moves new rows and examples into the run, a logit-weights job
   * updates them. What is rendered from a run's rows is cached under it (./html-cache).
   */
  version: string;
}

export interface FeatureJobSummary {
  id: string;
  type: string;
  status: 'queued' | 'running' | 'done' | 'failed' | 'cancelled';
  progress: number;
  progressDetail: Record<string, unknown> | null;
  error: string | null;
  createdAt: string;
}

export interface FeaturePage {
  model: { id: string; slug: string; architecture: string; contentHash: string; vocabSize: number; contextLength: number };
  sae: {
    id: string;
    slug: string;
    hookName: string;
    architecture: string;
    dIn: number;
    dSae: number;
    cfg: Record<string, unknown>;
    contentHash: string;
  };
  index: number;
  /** the dashboard run the computed data comes from (null: none computed for this SAE yet) */
  run: {
    id: string;
    corpusId: string;
    corpusName: string;
    nTokens: number | null;
    completedAt: string | null;
    ablated: boolean;
    /** where an imported run came from (null: computed here) */
    source: DashboardRunSource | null;
  } | null;
  /** null when the current run has no dashboard for this feature */
  stats: FeatureStats | null;
  top: FeatureExample[];
  /** a uniform sample of the contexts where the feature fires, in corpus order */
  random: FeatureExample[];
  /** highest interval first */
  intervals: FeatureInterval[];
  /** html: the description with plain feature links; storedHtml: as stored (server/markdown.ts applyChips) */
  page: { label: string; body: string; html: string; storedHtml?: string; revision: number; updatedAt: string | null; updatedBy: string | null };
  /** the display piece of every token id the page shows (examples and logit weights) */
  pieces: Record<number, string>;
  /** the latest dashboard or logit-weight recompute of this feature in the last day */
  recompute: FeatureJobSummary | null;
  /** the reader's level on the SAE, read in the same statement ('none': they may not see it) */
  level: Level;
  /** the neighbours in the SAEs the reader may see */
  similar: SimilarFeatureGroup[];
  /** the label proposals with their votes (the reader's own marked), the shown label and who set it */
  labels: LabelStanding;
  /** what the page's other sections show, when asked for (getFeaturePage's options) */
  discussion?: FeatureDiscussion;
}

/** The hypotheses about the feature, its backlinks and its comment thread, as the viewer may see them. */
export interface FeatureDiscussion {
  hypotheses: HypothesisSummary[];
  backlinks: Backlink[];
  /** featureThreadSql's rows (rememberFeatureThread renders them) */
  comments: CommentRow[];
}

/** What the page's statement reads besides the feature itself. */
interface PageReadOptions {
  withVocab: boolean;
  intervalExamples: boolean;
  /** the hypotheses, backlinks and comment thread too (the page shows them; the API's reads of a feature do not) */
  discussion: boolean;
  viewer: Viewer;
}

/**
 * The page's one statement. Besides the feature's own data it carries what every view needs and would otherwise read
 * on its own: the viewer's access to the SAE (checked at read time, in this statement), its similar features in the
 * SAEs the viewer may see, and the label proposals with their votes; for the page, its discussion too (each part
 * filtered by the visibility of its own sources, by the fragments its procedure sends alone).
 */
function pageStatement(a: { model: string; sae: string; index: number }, { withVocab, intervalExamples, discussion, viewer }: PageReadOptions): SQL {
  const { model, sae, index } = a;
  const saeId = sql`(select s.id from s)`;
  return sql`
with m as (
  select id, slug, architecture::text as architecture, content_hash,
         (config->>'vocabSize')::int as vocab_size, (config->>'contextLength')::int as context_length
  from model where slug = ${model}
), s as (
  select sae.id, sae.slug, sae.hook_name, sae.architecture, sae.d_in, sae.d_sae, sae.cfg, sae.content_hash,
         sae.current_run_id, sae.model_id
  from sae join m on sae.model_id = m.id where sae.slug = ${sae}
), r as (
  select run.id, run.corpus_id, c.name as corpus_name, run.n_tokens, run.completed_at, run.source,
         coalesce((run.params->>'ablateTopExamples')::boolean, false) as ablated
  from dashboard_run run join s on run.id = s.current_run_id join corpus c on c.id = run.corpus_id
)
select
  (select row_to_json(m) from m) as model,
  (select row_to_json(s) from s) as sae,
  (select row_to_json(x) from (${saeAccessSql(viewer, saeId)}) x) as access,
  (select row_to_json(r) from r) as run,
  (select json_build_object(
            'nTokens', f.n_tokens, 'nonzeroCount', f.nonzero_count, 'bosCount', f.bos_count, 'bosExcluded', f.bos_excluded,
            'density', f.density, 'maxAct', f.max_act,
            'meanAct', f.mean_act, 'meanActAll', f.mean_act_all, 'histogram', f.histogram, 'intervals', f.intervals,
            'logitTop', f.logit_top, 'logitBottom', f.logit_bottom, 'logitFoldLn', f.logit_fold_ln, 'logitHistogram', f.logit_histogram,
            'encoderBias', f.encoder_bias, 'encoderNorm', f.encoder_norm, 'decoderNorm', f.decoder_norm,
            'deDot', f.de_dot, 'deCos', f.de_cos, 'version', f.xmin::text)
     from feature f join s on f.run_id = s.current_run_id where f.index = ${index}) as stats,
  (select coalesce(json_agg(e), '[]'::json) from (
     select x.kind, x.interval, x.rank, x.context_index, x.position, x.max_act, x.max_pos,
            encode(x.acts, 'base64') as acts, encode(x.loss_delta, 'base64') as loss_delta, encode(cc.tokens, 'base64') as tokens
     from feature_example x
     join r on x.run_id = r.id
     join corpus_context cc on cc.corpus_id = r.corpus_id and cc.index = x.context_index
     where x.feature_index = ${index} and (${intervalExamples} or x.kind <> 'interval')
     order by x.kind, x.interval desc, x.rank) e) as examples,
  (select coalesce(json_object_agg(n.interval, n.examples), '{}'::json) from (
     select x.interval, count(*) as examples from feature_example x join r on x.run_id = r.id
     where x.feature_index = ${index} and x.kind = 'interval' group by x.interval) n) as interval_examples,
  (select json_build_object('label', p.label, 'body', p.body, 'html', p.body_html, 'revision', p.revision, 'updatedAt', p.updated_at,
                            'updatedBy', ${displayNameSql()})
     from feature_page p join s on p.sae_id = s.id left join "user" u on u.id = p.updated_by
     where p.index = ${index}) as page,
  (select row_to_json(j) from (
     select job.id, job.type, job.status, job.progress, job.progress_detail, job.error, job.created_at
     from job join s on job.model_id = s.model_id
     where job.created_at > now() - interval '1 day' and job.type in ('dashboards', 'logit-weights')
       and job.params->>'saeId' = s.id::text and job.params->'features' @> jsonb_build_array(${index}::int)
     order by job.created_at desc limit 1) j) as recompute,
  (select json_build_object('contentHash', v.content_hash, 'pieces', case when ${withVocab} then v.pieces end)
     from model_vocab v join m on v.model_id = m.id) as vocab,
  ${similarFeaturesSql(viewer, saeId, index)} as similar,
  (select ${labelStandingSql(sql`s.id`, index, viewer?.id ?? null)} from s) as labels
  ${discussion ? sql`, ${featureHypothesesSql(viewer, saeId, index)} as hypotheses, ${backlinksSql(viewer, a)} as backlinks,
    ${featureThreadSql(saeId, index)} as comments` : sql``}
`;
}

const dialect = new PgDialect();

/** The page's statement as node-postgres takes it (getFeaturePage sends it; bench:web times it bare). */
export function featurePageQuery(address: { model: string; sae: string; index: number }, options: PageReadOptions): { name: string; text: string; values: unknown[] } {
  const { sql: text, params } = dialect.sqlToQuery(pageStatement(address, options));
  // node-postgres prepares a named statement once per connection: later reads skip parsing and planning. The text
  // differs by kind of viewer (anonymous, signed in, admin) and by what is read, so each has a name of its own.
  return { name: `lexicon-feature-page-${createHash('sha1').update(text).digest('hex').slice(0, 16)}`, text, values: params };
}

interface PageRow {
  model: { id: string; slug: string; architecture: string; content_hash: string; vocab_size: number; context_length: number } | null;
  sae: {
    id: string;
    slug: string;
    hook_name: string;
    architecture: string;
    d_in: number;
    d_sae: number;
    cfg: Record<string, unknown>;
    content_hash: string;
  } | null;
  run: { id: string; corpus_id: string; corpus_name: string; n_tokens: number | null; completed_at: string | null; ablated: boolean; source: DashboardRunSource | null } | null;
  stats: (FeatureStats & { intervals: { lo: number; hi: number; count: number }[] }) | null;
  examples: {
    kind: FeatureExample['kind'];
    interval: number;
    rank: number;
    context_index: number;
    position: number | null;
    max_act: number;
    max_pos: number;
    acts: string;
    loss_delta: string | null;
    tokens: string;
  }[];
  /** interval (as stored) → how many examples it has */
  interval_examples: Record<string, number>;
  page: { label: string; body: string; html: string | null; revision: number; updatedAt: string; updatedBy: string | null } | null;
  recompute: {
    id: string;
    type: string;
    status: FeatureJobSummary['status'];
    progress: number;
    progress_detail: Record<string, unknown> | null;
    error: string | null;
    created_at: string;
  } | null;
  vocab: { contentHash: string; pieces: string[] | null } | null;
  access: Record<string, unknown> | null;
  similar: NeighbourRow[];
  labels: StandingRow | null;
  hypotheses?: Record<string, unknown>[];
  backlinks?: BacklinkRow[];
  comments?: CommentRow[];
}

/**
 * Everything the feature page shows, in one SQL round trip (two the first time a model's vocabulary is needed), as
 * `viewer` may see it (anonymous by default); the caller refuses a page whose `level` is 'none', and shows its
 * `discussion` only then. `intervalExamples: false` leaves the quantile intervals' examples out (their counts stay): a
 * page that keeps the intervals collapsed shows none of them, and they are most of what the read would decode.
 */
export async function getFeaturePage(
  db: Db,
  modelSlug: string,
  saeSlug: string,
  index: number,
  { intervalExamples = true, discussion = false, viewer = null }: { intervalExamples?: boolean; discussion?: boolean; viewer?: Viewer } = {},
): Promise<FeaturePage | null> {
  if (!Number.isSafeInteger(index) || index < 0 || index > MAX_FEATURE_INDEX) return null;
  const client = (db as Db & { $client?: Pick<Pool, 'query'> }).$client ?? getPool();
  const query = (withVocab: boolean) =>
    client.query<PageRow>(featurePageQuery({ model: modelSlug, sae: saeSlug, index }, { withVocab, intervalExamples, discussion, viewer }));
  let cacheHit = vocabCache.get(modelSlug);
  let [row] = (await query(cacheHit === undefined)).rows;
  if (!row?.model || !row.sae || index >= row.sae.d_sae) return null;
  // A vocabulary cached for older model files: read the stored one again (rare: the model was re-registered).
  if (cacheHit && cacheHit.contentHash !== row.vocab?.contentHash) {
    vocabCache.delete(modelSlug);
    cacheHit = undefined;
    [row] = (await query(true)).rows;
    if (!row?.model || !row.sae) return null;
  }
  if (!cacheHit && row.vocab?.pieces) vocabCache.set(modelSlug, { contentHash: row.vocab.contentHash, pieces: row.vocab.pieces });
  const pieces = vocabCache.get(modelSlug)?.pieces ?? null;

  const examples: FeatureExample[] = row.examples.map((e) => ({
    kind: e.kind,
    interval: e.interval,
    rank: e.rank,
    contextIndex: e.context_index,
    position: e.position,
    maxAct: e.max_act,
    maxPos: e.max_pos,
    tokens: base64Tokens(e.tokens),
    acts: base64Floats(e.acts),
    lossDelta: e.loss_delta === null ? null : base64Floats(e.loss_delta),
  }));
  const intervals: FeatureInterval[] = (row.stats?.intervals ?? [])
    .map((interval, i) => ({
      index: i,
      ...interval,
      exampleCount: row.interval_examples[i] ?? 0,
      examples: examples.filter((e) => e.kind === 'interval' && e.interval === i),
    }))
    .reverse();

  // an imported run's tokens that are no piece of the vocabulary are its own pieces, −1−k (server/exchange)
  const extra = row.run?.source?.extraPieces ?? [];
  const piece = (id: number) => pieceOf(pieces, id, extra);
  const used: Record<number, string> = {};
  for (const e of examples) for (const id of e.tokens) used[id] ??= piece(id);
  for (const w of [...(row.stats?.logitTop ?? []), ...(row.stats?.logitBottom ?? [])]) used[w.id] ??= piece(w.id);

  const { intervals: _intervals, ...stats } = row.stats ?? ({} as NonNullable<PageRow['stats']>);
  const body = row.page?.body ?? '';
  const storedHtml = row.page ? await descriptionHtml(db, row.sae.id, index, row.page.revision, body, row.page.html) : '';
  return {
    model: {
      id: row.model.id,
      slug: row.model.slug,
      architecture: row.model.architecture,
      contentHash: row.model.content_hash,
      vocabSize: row.model.vocab_size,
      contextLength: row.model.context_length,
    },
    sae: {
      id: row.sae.id,
      slug: row.sae.slug,
      hookName: row.sae.hook_name,
      architecture: row.sae.architecture,
      dIn: row.sae.d_in,
      dSae: row.sae.d_sae,
      cfg: row.sae.cfg,
      contentHash: row.sae.content_hash,
    },
    index,
    run: row.run && {
      id: row.run.id,
      corpusId: row.run.corpus_id,
      corpusName: row.run.corpus_name,
      nTokens: row.run.n_tokens === null ? null : Number(row.run.n_tokens),
      completedAt: row.run.completed_at,
      ablated: row.run.ablated,
      source: row.run.source,
    },
    stats: row.stats
      ? {
          ...stats,
          nTokens: Number(stats.nTokens),
          nonzeroCount: Number(stats.nonzeroCount),
          bosCount: stats.bosCount === null ? null : Number(stats.bosCount),
        }
      : null,
    top: examples.filter((e) => e.kind === 'top'),
    random: examples.filter((e) => e.kind === 'random'),
    intervals,
    page: {
      label: row.page?.label ?? '',
      body,
      // feature links plain; `stored` keeps them neutral for the router to put in the viewer's chips
      html: applyChips(storedHtml),
      storedHtml,
      revision: row.page?.revision ?? 0,
      updatedAt: row.page?.updatedAt ?? null,
      updatedBy: row.page?.updatedBy ?? null,
    },
    pieces: used,
    recompute: row.recompute && {
      id: row.recompute.id,
      type: row.recompute.type,
      status: row.recompute.status,
      progress: row.recompute.progress,
      progressDetail: row.recompute.progress_detail,
      error: row.recompute.error,
      createdAt: row.recompute.created_at,
    },
    level: saeLevelOf(viewer, row.access),
    similar: similarFeatureGroups(row.similar, { saeId: row.sae.id, hookName: row.sae.hook_name }),
    labels: labelStandingOf(row.labels ?? { proposals: [], since: null }),
    discussion: discussion
      ? { hypotheses: featureHypothesesOf(row.hypotheses ?? []), backlinks: backlinksOf(row.backlinks ?? []), comments: row.comments ?? [] }
      : undefined,
  };
}

/** Little-endian float32 bytes (base64) as numbers, rounded to what a page can show. */
function base64Floats(data: string): number[] {
  const bytes = Buffer.from(data, 'base64');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Array<number>(bytes.byteLength >> 2);
  for (let i = 0; i < out.length; i++) {
    const v = view.getFloat32(i * 4, true);
    out[i] = v === 0 ? 0 : Number(v.toPrecision(5));
  }
  return out;
}

/**
 * A feature's card: what a list of features shows about each one so it can be told apart without opening its page
 * (the feature table, the scatter's selection, lists). Label and density, the tokens whose logits it raises most,
 * the tokens its top examples peak on, and a one-line snippet of its top example around the peak.
 *
 * The stored parts are read as extra columns of whatever query selects the feature rows (CARD_COLUMNS over a
 * `feature` row aliased `f`), so a page of cards costs no extra round trip: each card is a few index lookups
 * (feature_example's primary key, one corpus_context row) inside that query.
 */
import { sql } from 'drizzle-orm';
import type { Db } from './db';
import { base64Tokens } from './context-tokens';
import { pieceOf } from './token-piece';
import { vocabulary } from './vocabulary';

/** How many logits and peak tokens a card shows. */
export const CARD_TOKENS = 5;
/** Tokens of the snippet either side of the top example's peak. */
export const SNIPPET_RADIUS = 12;
/** The most features one request for cards may name (the scatter's selection lists this many). */
export const MAX_CARDS = 200;

export interface CardToken {
  piece: string;
  /** the logit weight (logits) or the highest activation on the token (peak tokens) */
  value: number;
}

export interface Snippet {
  /** the token pieces around the peak */
  pieces: string[];
  /** where the peak is in `pieces` */
  at: number;
  maxAct: number;
  /** the context goes on before / after the snippet */
  clippedStart: boolean;
  clippedEnd: boolean;
}

/** What a card shows beyond the label and density; empty where the current run has no dashboard for the feature. */
export interface CardEvidence {
  /** the tokens whose logits it raises most, highest first */
  logits: CardToken[];
  /** the distinct tokens its top examples peak on, with the highest activation on each, highest first */
  topTokens: CardToken[];
  /** the top example around its peak */
  snippet: Snippet | null;
}

export interface FeatureCard extends CardEvidence {
  index: number;
  label: string | null;
  density: number;
  nTokens: number;
}

/**
 * Select columns (card_logits, card_tokens, card_snippet) over a `feature` row aliased f: the first logits of
 * logit_top (stored highest first), the peak tokens of the top examples, and the top example's tokens around its
 * peak (bytes 4t … 4t + 3 of the context's, ./context-tokens.ts; substring is 1-based). Token ids below 0 of an
 * imported run come with the run's own pieces for them (`extra`, by id; server/exchange), only those: a run may hold
 * a thousand, so the snippet's ids are read in SQL too, each from its four little-endian bytes (SQL's | and << bind
 * alike: the shifts need their parentheses).
 */
export const CARD_COLUMNS = sql`
  jsonb_path_query_array(f.logit_top, ${`$[0 to ${CARD_TOKENS - 1}]`}::jsonpath) as card_logits,
  (select json_agg(json_build_object('id', t.token, 'value', t.act, 'extra', r.source->'extraPieces'->>(-1 - t.token)) order by t.act desc, t.token)
     from (select x.max_token as token, max(x.max_act)::float8 as act from feature_example x
            where x.run_id = f.run_id and x.feature_index = f.index and x.kind = 'top' and x.max_token is not null
            group by x.max_token order by act desc, token limit ${CARD_TOKENS}) t
     left join dashboard_run r on t.token < 0 and r.id = f.run_id) as card_tokens,
  (select json_build_object('tokens', encode(s.tokens, 'base64'), 'at', least(x.max_pos, ${SNIPPET_RADIUS}), 'maxAct', x.max_act::float8,
                            'clippedStart', x.max_pos > ${SNIPPET_RADIUS}, 'clippedEnd', x.max_pos + 1 + ${SNIPPET_RADIUS} < length(cc.tokens) / 4,
                            'extra', (select json_object_agg(t.id, r.source->'extraPieces'->>(-1 - t.id))
                                        from generate_series(0, length(s.tokens) / 4 - 1) i,
                                             lateral (select get_byte(s.tokens, 4 * i) | (get_byte(s.tokens, 4 * i + 1) << 8) | (get_byte(s.tokens, 4 * i + 2) << 16)
                                                             | (get_byte(s.tokens, 4 * i + 3) << 24) as id) t
                                       where t.id < 0))
     from feature_example x
     join dashboard_run r on r.id = x.run_id
     join corpus_context cc on cc.corpus_id = r.corpus_id and cc.index = x.context_index
     cross join lateral (select substring(cc.tokens from 4 * greatest(0, x.max_pos - ${SNIPPET_RADIUS}) + 1
                                                for 4 * (x.max_pos + 1 + ${SNIPPET_RADIUS} - greatest(0, x.max_pos - ${SNIPPET_RADIUS}))) as tokens) s
    where x.run_id = f.run_id and x.feature_index = f.index and x.kind = 'top' and x.rank = 0) as card_snippet`;

interface CardRow {
  card_logits?: unknown;
  card_tokens?: unknown;
  card_snippet?: unknown;
}

/** A row's card columns with the model's token pieces (null pieces: ids shown as <id>). */
export function cardEvidence(row: CardRow, pieces: string[] | null): CardEvidence {
  const weights = (value: unknown) =>
    ((value as { id: number; value: number; extra?: string | null }[] | null) ?? []).map((w) => ({ piece: w.extra ?? pieceOf(pieces, w.id), value: w.value }));
  const s = row.card_snippet as { tokens: string; at: number; maxAct: number; clippedStart: boolean; clippedEnd: boolean; extra: Record<number, string> | null } | null;
  return {
    logits: weights(row.card_logits),
    topTokens: weights(row.card_tokens),
    snippet: s && {
      // the run's own pieces are keyed by their (negative) ids
      pieces: base64Tokens(s.tokens).map((id) => pieceOf(id < 0 ? s.extra : pieces, id)),
      at: s.at,
      maxAct: s.maxAct,
      clippedStart: s.clippedStart,
      clippedEnd: s.clippedEnd,
    },
  };
}

/** The model's token pieces for a resolved SAE (./visibility's ResolvedSae). */
export function saePieces(db: Db, sae: { modelId: string; modelSlug: string; modelContentHash: string }): Promise<string[] | null> {
  return vocabulary(db, sae.modelId, sae.modelSlug, sae.modelContentHash);
}

/**
 * The cards of some features of one SAE's current run, in the order asked, in one query; features the run has no
 * dashboard for are left out.
 */
export async function featureCards(
  db: Db,
  sae: { saeId: string; currentRunId: string | null; modelId: string; modelSlug: string; modelContentHash: string },
  indices: number[],
): Promise<FeatureCard[]> {
  if (!sae.currentRunId || indices.length === 0) return [];
  const [pieces, { rows }] = await Promise.all([
    saePieces(db, sae),
    db.execute<Record<string, unknown>>(sql`
      select f.index, f.density, f.n_tokens, nullif(p.label, '') as label, ${CARD_COLUMNS}
        from feature f left join feature_page p on p.sae_id = f.sae_id and p.index = f.index
       where f.run_id = ${sae.currentRunId} and f.index in ${indices}`),
  ]);
  const byIndex = new Map(
    rows.map((r) => [
      r.index as number,
      {
        index: r.index as number,
        label: (r.label as string | null) ?? null,
        density: r.density as number,
        nTokens: Number(r.n_tokens),
        ...cardEvidence(r, pieces),
      },
    ]),
  );
  return indices.flatMap((i) => byIndex.get(i) ?? []);
}

/** The token pieces of each model among `models` (id, slug, content hash), for cards spanning several models. */
export async function piecesByModel(db: Db, models: { id: string; slug: string; contentHash: string }[]): Promise<Map<string, string[] | null>> {
  const distinct = [...new Map(models.map((m) => [m.id, m])).values()];
  const pieces = await Promise.all(distinct.map((m) => vocabulary(db, m.id, m.slug, m.contentHash)));
  return new Map(distinct.map((m, i) => [m.id, pieces[i]!]));
}

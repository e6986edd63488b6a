/**
 * Finding features: by label and description text (PostgreSQL full-text search over feature_page.search, ranked),
 * by token (which features' top examples peak on it, which have it among their top logits).
 */
import { sql, type SQL } from 'drizzle-orm';
import { visibleSaeSql, type Viewer } from './authz';
import type { FeatureAddress } from './addresses';
import type { Db } from './db';
import { badInput } from './errors';
import { pieceOf } from './token-piece';
import { modelTokenizer, vocabulary } from './vocabulary';

// ---- text search ------------------------------------------------------------------------------------------------

export interface SearchScope {
  /** who searches: only SAEs they may see are searched */
  viewer: Viewer;
  /** model slug */
  model?: string;
  /** SAE slug (within `model`) */
  sae?: string;
}

export interface TextHit extends FeatureAddress {
  label: string;
  /** a fragment of the description around the matched words, matches between ⟦ and ⟧ */
  snippet: string;
  rank: number;
  density: number | null;
  nTokens: number | null;
}

/**
 * The tsquery for what someone typed: web-search syntax ("quoted phrase", or, -not) as PostgreSQL parses it; plain
 * words instead are all required and the last one may be a prefix (so results appear while typing a word).
 */
export function textQuery(text: string): SQL | undefined {
  const t = text.trim();
  if (!t) return undefined;
  if (/["]|\bor\b|(^|\s)-\S/i.test(t)) return sql`websearch_to_tsquery('english', ${t})`;
  const words = t.split(/\s+/).map((w) => w.replace(/[^\p{L}\p{N}_]+/gu, '')).filter(Boolean);
  if (words.length === 0) return undefined;
  const terms = words.map((w, i) => (i === words.length - 1 ? `${w}:*` : w));
  return sql`to_tsquery('english', ${terms.join(' & ')})`;
}

function scopeFilter(scope: SearchScope): SQL {
  const parts: SQL[] = [visibleSaeSql(scope.viewer, sql`s.id`)];
  if (scope.model) parts.push(sql`m.slug = ${scope.model}`);
  if (scope.sae) parts.push(sql`s.slug = ${scope.sae}`);
  return sql.join(parts, sql` and `);
}

/**
 * Ranking reads every match's tsvector; a word or prefix found on hundreds of thousands of pages would take seconds.
 * Past this many matches (in index order) the best are ranked among these only.
 */
const RANKED_MATCHES = 2000;
/**
 * Snippets come from this many leading characters of a description: ts_headline re-parses the whole text it is given,
 * so a huge body would cost every search that shows it (a match further in gets a snippet of the opening instead).
 */
const SNIPPET_SOURCE_CHARS = 8000;

/**
 * Feature pages whose label or description match, best first (ts_rank_cd with the label weighted above the body;
 * ties by address), among the first RANKED_MATCHES matches. One query: the GIN index finds the matches, only the
 * returned page gets snippets.
 */
export async function searchText(db: Db, text: string, scope: SearchScope, limit = 50): Promise<TextHit[]> {
  const query = textQuery(text);
  if (!query) return [];
  const { rows } = await db.execute<Record<string, unknown>>(sql`
    with q as (select ${query} as q),
    matches as (
      select m.slug as model, s.slug as sae, s.current_run_id, p.index, p.label, p.body, p.search
        from feature_page p
        cross join q
        join sae s on s.id = p.sae_id
        join model m on m.id = s.model_id
       where p.search @@ q.q and ${scopeFilter(scope)}
       limit ${RANKED_MATCHES}
    ),
    hits as (
      select x.model, x.sae, x.current_run_id, x.index, x.label, x.body, ts_rank_cd(x.search, q.q) as rank
        from matches x
        cross join q
       order by rank desc, x.model, x.sae, x.index
       limit ${limit}
    )
    select h.model, h.sae, h.index, h.label, h.rank,
           case when h.body = '' then ''
                else ts_headline('english', left(h.body, ${SNIPPET_SOURCE_CHARS}), q.q, 'StartSel=⟦,StopSel=⟧,MaxWords=24,MinWords=8,MaxFragments=1') end as snippet,
           f.density, f.n_tokens
      from hits h
      cross join q
      left join feature f on f.run_id = h.current_run_id and f.index = h.index
     order by h.rank desc, h.model, h.sae, h.index`);
  return rows.map((r) => ({
    model: r.model as string,
    sae: r.sae as string,
    index: r.index as number,
    label: r.label as string,
    snippet: r.snippet as string,
    rank: r.rank as number,
    density: (r.density as number | null) ?? null,
    nTokens: r.n_tokens === null ? null : Number(r.n_tokens),
  }));
}

// ---- token search -----------------------------------------------------------------------------------------------

/** Typed text longer than this is refused for token search: no piece is nearly that long, and a word is shorter. */
export const TOKEN_TEXT_MAX = 100;
/** Piece-substring matches beyond this many are counted, not listed (nor searched for features). */
export const SUBSTRING_MATCHES = 50;

export interface VocabToken {
  id: number;
  /** the display piece (model_vocab) */
  piece: string;
}

/** How token search matched typed text: which tokens, and by which mode. */
export type TokenMatch =
  /** tokens whose piece is the text (or is it once surrounding whitespace is ignored) */
  | { mode: 'exact'; tokens: VocabToken[] }
  /** no piece is the text: the tokens the model splits it into, as a word of its own and inside a longer word */
  | { mode: 'tokenised'; tokens: VocabToken[]; spellings: { text: string; tokens: VocabToken[] }[] }
  /** tokens whose piece contains the text, ignoring case: the first SUBSTRING_MATCHES of `total` */
  | { mode: 'substring'; tokens: VocabToken[]; total: number };

type TokenMatchHow = 'word' | 'substring';

/**
 * The tokens typed text stands for in `model`. `word`: the tokens whose piece is the text, else the model's
 * tokenisation of it (needs the model's tokenizer files); `substring`: the pieces containing it.
 */
export async function matchTokens(
  db: Db,
  model: { id: string; slug: string; path: string; contentHash: string },
  text: string,
  how: TokenMatchHow,
): Promise<TokenMatch> {
  if (text === '') throw badInput('type a token');
  if (text.length > TOKEN_TEXT_MAX) {
    throw badInput(`the token text is ${text.length} characters long; token search takes at most ${TOKEN_TEXT_MAX}`);
  }
  if (how === 'substring') return piecesContaining(db, model.id, text);
  const exact = await piecesEqual(db, model.id, text);
  // whitespace alone is a piece or nothing: tokenising it would only find space tokens under another name
  if (exact.length > 0 || text.trim() === '') return { mode: 'exact', tokens: exact };
  return tokenisation(db, model, text.trim());
}

/** Tokens whose piece is `text` exactly, or once surrounding whitespace is ignored on both sides, exact first. */
async function piecesEqual(db: Db, modelId: string, text: string, max = 8): Promise<VocabToken[]> {
  const { rows } = await db.execute<{ id: number; piece: string }>(sql`
    select (t.i - 1)::int as id, t.piece
      from model_vocab v
      cross join lateral unnest(v.pieces) with ordinality as t(piece, i)
     where v.model_id = ${modelId} and (t.piece = ${text} or btrim(t.piece) = btrim(${text}))
     order by (t.piece = ${text}) desc, t.i
     limit ${max}`);
  return rows;
}

/**
 * Tokens whose piece contains `text`, ignoring case: a piece equal to it first, then shorter pieces first. strpos,
 * not LIKE, so % _ and \ typed are plain characters. A scan of the one model_vocab row's array (no index can help a
 * substring inside an array element): measured under 1 ms for stories260K's 512 pieces, 25-100 ms for GPT-2's 50k.
 */
async function piecesContaining(db: Db, modelId: string, text: string): Promise<TokenMatch> {
  const { rows } = await db.execute<{ id: number; piece: string; total: number }>(sql`
    select (t.i - 1)::int as id, t.piece, count(*) over ()::int as total
      from model_vocab v
      cross join lateral unnest(v.pieces) with ordinality as t(piece, i)
     where v.model_id = ${modelId} and strpos(lower(t.piece), lower(${text})) > 0
     order by lower(t.piece) = lower(${text}) desc, length(t.piece), t.i
     limit ${SUBSTRING_MATCHES}`);
  return { mode: 'substring', tokens: rows.map(({ id, piece }) => ({ id, piece })), total: rows[0]?.total ?? 0 };
}

/**
 * `word` as the model's tokenizer splits it, both as a word of its own (after a space: " ball") and inside a longer
 * word ("ball" in "football"): SentencePiece and GPT-2's BPE give different pieces for the two.
 */
async function tokenisation(db: Db, model: { id: string; slug: string; path: string; contentHash: string }, word: string): Promise<TokenMatch> {
  const [tokenizer, pieces] = await Promise.all([modelTokenizer(model), vocabulary(db, model.id, model.slug, model.contentHash)]);
  const spellings: { text: string; tokens: VocabToken[] }[] = [];
  for (const text of [` ${word}`, word]) {
    const ids = tokenizer.encode(text, { dummyPrefix: false });
    if (spellings.some((s) => s.tokens.map((t) => t.id).join() === ids.join())) continue;
    spellings.push({ text, tokens: ids.map((id) => ({ id, piece: pieceOf(pieces, id) })) });
  }
  const distinct = new Map(spellings.flatMap((s) => s.tokens).map((t) => [t.id, t]));
  return { mode: 'tokenised', tokens: [...distinct.values()], spellings };
}

export interface TokenHit extends FeatureAddress {
  label: string | null;
  tokenId: number;
  /** top examples (of this feature) that peak on the token, out of its top examples */
  examples: number;
  /** the feature's largest activation on the token among its top examples */
  maxAct: number;
  density: number | null;
}

export interface LogitHit extends FeatureAddress {
  label: string | null;
  tokenId: number;
  /** W_dec[f]·W_U for the token */
  weight: number;
  density: number | null;
}

async function currentRuns(db: Db, scope: SearchScope & { model: string }): Promise<{ runId: string; sae: string; saeId: string }[]> {
  const { rows } = await db.execute<{ run_id: string; sae: string; sae_id: string }>(sql`
    select s.current_run_id as run_id, s.slug as sae, s.id as sae_id from sae s join model m on m.id = s.model_id
     where ${scopeFilter(scope)} and s.current_run_id is not null`);
  return rows.map((r) => ({ runId: r.run_id, sae: r.sae, saeId: r.sae_id }));
}

/** Features whose top examples peak on one of `tokenIds` most often (then by activation), in the model's SAEs. */
export async function featuresFiringOn(
  db: Db,
  tokenIds: number[],
  scope: SearchScope & { model: string },
  limit = 30,
): Promise<TokenHit[]> {
  if (tokenIds.length === 0) return [];
  const runs = await currentRuns(db, scope);
  if (runs.length === 0) return [];
  const runIds = sql.join(runs.map((r) => sql`${r.runId}::uuid`), sql`, `);
  const ids = sql.join(tokenIds.map((id) => sql`${id}::int`), sql`, `);
  const { rows } = await db.execute<Record<string, unknown>>(sql`
    with hits as (
      select e.run_id, e.feature_index, e.max_token, count(*)::int as examples, max(e.max_act) as max_act
        from feature_example e
       where e.kind = 'top' and e.max_token in (${ids}) and e.run_id in (${runIds})
       group by e.run_id, e.feature_index, e.max_token
       order by examples desc, max_act desc
       limit ${limit}
    )
    select s.slug as sae, h.feature_index as index, h.max_token, h.examples, h.max_act, p.label, f.density
      from hits h
      join sae s on s.current_run_id = h.run_id
      left join feature_page p on p.sae_id = s.id and p.index = h.feature_index
      left join feature f on f.run_id = h.run_id and f.index = h.feature_index
     order by h.examples desc, h.max_act desc, s.slug, h.feature_index`);
  return rows.map((r) => ({
    model: scope.model,
    sae: r.sae as string,
    index: r.index as number,
    label: (r.label as string | null) || null,
    tokenId: r.max_token as number,
    examples: r.examples as number,
    maxAct: r.max_act as number,
    density: (r.density as number | null) ?? null,
  }));
}

/** Features with one of `tokenIds` among their top logit weights, largest weight first. */
export async function featuresPromoting(
  db: Db,
  tokenIds: number[],
  scope: SearchScope & { model: string },
  limit = 30,
): Promise<LogitHit[]> {
  if (tokenIds.length === 0) return [];
  const runs = await currentRuns(db, scope);
  if (runs.length === 0) return [];
  const runIds = sql.join(runs.map((r) => sql`${r.runId}::uuid`), sql`, `);
  // One containment test per token id: each is answered by the GIN index (jsonb_path_ops) on logit_top.
  const contains = sql.join(
    tokenIds.map((id) => sql`f.logit_top @> ${JSON.stringify([{ id }])}::jsonb`),
    sql` or `,
  );
  const ids = sql.join(tokenIds.map((id) => sql`${id}::int`), sql`, `);
  const { rows } = await db.execute<Record<string, unknown>>(sql`
    with hits as (
      select f.run_id, f.index, f.density, (w->>'id')::int as token_id, (w->>'value')::float8 as weight
        from feature f, jsonb_array_elements(f.logit_top) w
       where f.run_id in (${runIds}) and (${contains}) and (w->>'id')::int in (${ids})
       order by weight desc
       limit ${limit}
    )
    select s.slug as sae, h.index, h.token_id, h.weight, h.density, p.label
      from hits h
      join sae s on s.current_run_id = h.run_id
      left join feature_page p on p.sae_id = s.id and p.index = h.index
     order by h.weight desc, s.slug, h.index`);
  return rows.map((r) => ({
    model: scope.model,
    sae: r.sae as string,
    index: r.index as number,
    label: (r.label as string | null) || null,
    tokenId: r.token_id as number,
    weight: r.weight as number,
    density: (r.density as number | null) ?? null,
  }));
}

/**
 * Feature links between texts and features: the feature_link rows a text's links are kept in (rewritten with the
 * text, in its transaction), rendering markdown with chips that show the linked features' labels, the compact
 * preview a chip shows on hover, and the backlinks a feature page lists ("discussed in").
 *
 * Nothing here shows what the viewer may not see: chips resolve only features of visible SAEs (an invisible one
 * renders exactly like a missing one: a broken link), and backlinks come only from sources the viewer may read.
 */
import { sql, type SQL } from 'drizzle-orm';
import { featureLinks } from '@/drizzle/schema';
import { visibleSaeSql, type Viewer } from './authz';
import type { Db } from './db';
import { badInput } from './errors';
import { bytesToTokens } from './context-tokens';
import { pieceOf } from './token-piece';
import { vocabulary } from './vocabulary';
import { visibleHypothesisSql } from './hypotheses';
import { featureHref, formatFeatureAddress, formatSaeAddress, hypothesisHref, saeHref, type FeatureAddress } from './addresses';
import { applyChips, featuresInHtml, MarkdownRefused, parseMarkdown, plainText, renderStored, type ChipMap, type StoredOptions, type StoredRendering } from './markdown';
import { renderMemo, viewerKey } from './render-memo';
import { featureAt } from './visibility';
import { displayNameSql } from './users';

export type LinkSource = (typeof featureLinks.$inferSelect)['sourceKind'];

/**
 * This site's `host[:port]`s, for recognising pasted feature URLs: the request's host (and the proxy's forwarded
 * host) plus the host of AUTH_URL when set.
 */
export function siteHosts(headers?: Headers): string[] {
  const hosts = new Set<string>();
  for (const h of [headers?.get('x-forwarded-host'), headers?.get('host')]) if (h) hosts.add(h.split(',')[0]!.trim().toLowerCase());
  if (process.env.AUTH_URL) {
    try {
      hosts.add(new URL(process.env.AUTH_URL).host.toLowerCase());
    } catch {
      // not a URL: nothing to add
    }
  }
  return [...hosts];
}

/**
 * Replaces the feature links of one source (a comment, a hypothesis, a feature page's description: `${saeId}/${index}`)
 * with those its markdown (or the caller's rendering of it) has now; call it in the transaction that writes the text (an
 * empty text removes them).
 */
export async function syncFeatureLinks(
  tx: Db,
  sourceKind: LinkSource,
  sourceId: string,
  markdown: string | { features: FeatureAddress[] },
  hosts: readonly string[] = siteHosts(),
): Promise<void> {
  await tx.execute(sql`delete from ${featureLinks} where source_kind = ${sourceKind} and source_id = ${sourceId}`);
  const { features } = typeof markdown === 'string' ? (markdown.trim() === '' ? { features: [] } : parseMarkdown(markdown, hosts)) : markdown;
  if (features.length === 0) return;
  await tx
    .insert(featureLinks)
    .values(features.map((f) => ({ sourceKind, sourceId, modelSlug: f.model, saeSlug: f.sae, index: f.index })))
    .onConflictDoNothing();
}

/**
 * Markdown being written (a comment, a description, a hypothesis) rendered for storing beside it; a text over the
 * bounds of server/markdown.ts is refused with BAD_REQUEST and a message saying which bound.
 */
export function renderForWrite(markdown: string, options: StoredOptions): StoredRendering {
  try {
    return renderStored(markdown, options);
  } catch (err) {
    if (err instanceof MarkdownRefused) throw badInput(`this text is too complex to show: ${err.message}`, err);
    throw err;
  }
}

/** The labels of the linked features the viewer may see (in range, of a visible SAE): one query for all of them. */
export async function resolveChips(db: Db, viewer: Viewer, addresses: FeatureAddress[]): Promise<ChipMap> {
  const chips: ChipMap = new Map();
  if (addresses.length === 0) return chips;
  const wanted = JSON.stringify(addresses.map((a) => ({ model: a.model, sae: a.sae, idx: a.index })));
  const { rows } = await db.execute<{ model: string; sae: string; idx: number; label: string | null }>(sql`
    select v.model, v.sae, v.idx, p.label
      from jsonb_to_recordset(${wanted}::jsonb) as v(model text, sae text, idx int)
      join model m on m.slug = v.model
      join sae s on s.model_id = m.id and s.slug = v.sae
      left join feature_page p on p.sae_id = s.id and p.index = v.idx
     where v.idx < s.d_sae and ${visibleSaeSql(viewer, sql`s.id`)}`);
  for (const r of rows) chips.set(formatFeatureAddress({ model: r.model, sae: r.sae, index: r.idx }), { label: r.label ?? '' });
  return chips;
}

/**
 * Stored HTML (server/markdown.ts renderStored) of several texts as this viewer sees it: feature chips with the current
 * labels of the features they may see, resolved in one query for all the texts. No markdown is parsed.
 */
export async function withChips(db: Db, viewer: Viewer, htmls: string[]): Promise<string[]> {
  const wanted = new Map<string, FeatureAddress>();
  for (const html of htmls) for (const f of featuresInHtml(html)) wanted.set(formatFeatureAddress(f), f);
  const chips = await resolveChips(db, viewer, [...wanted.values()]);
  return htmls.map((html) => applyChips(html, chips));
}

/** A preview of unsaved markdown with chips: rendered now, refused (BAD_REQUEST) over the bounds as a write would be. */
export async function previewWithChips(db: Db, viewer: Viewer, markdown: string, idPrefix: string, hosts: readonly string[]): Promise<string> {
  const [html] = await withChips(db, viewer, [renderForWrite(markdown, { hosts, idPrefix }).html]);
  return html!;
}

// ---------------------------------------------------------------------------------------------------------------
// The hover preview of a chip.

export interface FeaturePreview {
  address: string;
  label: string;
  /** null: no dashboards for this feature yet */
  density: number | null;
  nonzeroCount: number | null;
  nTokens: number | null;
  maxAct: number | null;
  /** a few tokens around the top activation; `peak` is the index of the most active one in `pieces` */
  snippet: { pieces: string[]; peak: number; act: number } | null;
}

const SNIPPET_BEFORE = 8;
const SNIPPET_AFTER = 3;

/** What a chip's hover shows: label, density and the top example around its peak. NOT_FOUND when invisible. */
export async function featurePreview(db: Db, viewer: Viewer, a: FeatureAddress): Promise<FeaturePreview> {
  const sae = await featureAt(db, viewer, 'read', a);
  const { rows } = await db.execute<{
    label: string | null;
    density: number | null;
    nonzero_count: string | null;
    n_tokens: string | null;
    max_act: number | null;
    max_pos: number | null;
    acts: Buffer | null;
    tokens: Buffer | null;
    extra_pieces: string[] | null;
  }>(sql`
    select p.label, f.density, f.nonzero_count, f.n_tokens, f.max_act, x.max_pos, x.acts, cc.tokens, r.source->'extraPieces' as extra_pieces
      from sae s
      left join feature_page p on p.sae_id = s.id and p.index = ${a.index}
      left join feature f on f.run_id = s.current_run_id and f.index = ${a.index}
      left join feature_example x on x.run_id = s.current_run_id and x.feature_index = ${a.index} and x.kind = 'top' and x.rank = 0
      left join dashboard_run r on r.id = s.current_run_id
      left join corpus_context cc on cc.corpus_id = r.corpus_id and cc.index = x.context_index
     where s.id = ${sae.saeId}`);
  const row = rows[0]!;
  let snippet: FeaturePreview['snippet'] = null;
  if (row.tokens && row.acts && row.max_pos !== null) {
    const tokens = bytesToTokens(row.tokens);
    const pieces = await vocabulary(db, sae.modelId, sae.modelSlug, sae.modelContentHash);
    const from = Math.max(0, row.max_pos - SNIPPET_BEFORE);
    const to = Math.min(tokens.length, row.max_pos + SNIPPET_AFTER + 1);
    snippet = {
      pieces: tokens.slice(from, to).map((id) => pieceOf(pieces, id, row.extra_pieces ?? [])),
      peak: row.max_pos - from,
      act: Buffer.from(row.acts).readFloatLE(row.max_pos * 4),
    };
  }
  return {
    address: formatFeatureAddress(a),
    label: row.label ?? '',
    density: row.density,
    nonzeroCount: row.nonzero_count === null ? null : Number(row.nonzero_count),
    nTokens: row.n_tokens === null ? null : Number(row.n_tokens),
    maxAct: row.max_act,
    snippet,
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Backlinks.

export interface Backlink {
  kind: LinkSource;
  /** where to read it (a comment's thread with its anchor, a hypothesis, a feature page) */
  href: string;
  /** the thread or page it is on */
  title: string;
  /** the start of the linking text */
  snippet: string;
  author: string | null;
  at: Date;
}

/** How many backlinks a feature page lists: the latest. */
const BACKLINKS = 50;

/** One backlink as backlinksSql reads it. */
export interface BacklinkRow {
  kind: LinkSource;
  id: string;
  body: string;
  at: string | Date;
  author: string | null;
  thread_kind: string | null;
  model: string | null;
  sae: string | null;
  feature_index: number | null;
  hypothesis_id: string | null;
  statement: string | null;
  label: string | null;
}

/**
 * SQL: the latest texts linking to feature `a` that the viewer may read (each source checked here: a comment by its
 * thread's SAE or hypothesis, a hypothesis by all its SAEs, a feature page by its SAE), as a JSON array of
 * BacklinkRow, newest first (backlinksOf reads it). It does not check the feature itself: the feature page's statement,
 * which carries it, reads the viewer's access beside it, and `backlinks` checks it first.
 */
export function backlinksSql(viewer: Viewer, a: FeatureAddress): SQL {
  const target = sql`l.model_slug = ${a.model} and l.sae_slug = ${a.sae} and l.index = ${a.index}`;
  return sql`(select coalesce(json_agg(b order by b.at desc), '[]'::json) from (
    (select 'comment' as kind, c.id::text as id, c.body, c.created_at as at, ${displayNameSql()} as author, c.thread_kind::text as thread_kind,
            m.slug as model, s.slug as sae, c.feature_index, c.hypothesis_id::text as hypothesis_id, h.statement, null as label
       from feature_link l
       join comment c on l.source_kind = 'comment' and c.id::text = l.source_id
       left join sae s on s.id = c.sae_id
       left join model m on m.id = s.model_id
       left join hypothesis h on h.id = c.hypothesis_id
       left join "user" u on u.id = c.author_id
      where ${target} and c.deleted_at is null
        -- the feature's own thread is on its page already
        and not (c.thread_kind = 'feature' and m.slug = ${a.model} and s.slug = ${a.sae} and c.feature_index = ${a.index})
        and case when c.hypothesis_id is not null
                 then ${visibleHypothesisSql(viewer, sql`h.id`)}
                 else ${visibleSaeSql(viewer, sql`c.sae_id`)} end)
    union all
    (select 'hypothesis', h.id::text, h.statement || E'\n\n' || h.body, h.created_at, ${displayNameSql()}, null, null, null, null, h.id::text, h.statement, null
       from feature_link l
       join hypothesis h on l.source_kind = 'hypothesis' and h.id::text = l.source_id
       left join "user" u on u.id = h.author_id
      where ${target} and ${visibleHypothesisSql(viewer, sql`h.id`)})
    union all
    (select 'feature_page', l.source_id, p.body, p.updated_at, ${displayNameSql()}, null, m.slug, s.slug, p.index, null, null, p.label
       from feature_link l
       join sae s on l.source_kind = 'feature_page' and s.id::text = split_part(l.source_id, '/', 1)
       join model m on m.id = s.model_id
       join feature_page p on p.sae_id = s.id and p.index::text = split_part(l.source_id, '/', 2)
       left join "user" u on u.id = p.updated_by
      where ${target} and not (m.slug = ${a.model} and s.slug = ${a.sae} and p.index = ${a.index})
        and ${visibleSaeSql(viewer, sql`s.id`)})
    order by at desc limit ${BACKLINKS}) b)`;
}

/** Backlinks read once per server render (the feature page's statement carries them). */
const backlinksByFeature = renderMemo<Backlink[]>();

/** The backlinks the feature page's statement read, for the rest of this render. */
export function rememberBacklinks(viewer: Viewer, a: FeatureAddress, links: Backlink[]): void {
  backlinksByFeature.set(viewerKey(viewer, formatFeatureAddress(a)), links);
}

/** Texts linking to this feature that the viewer may read (newest first): comments, hypotheses, feature pages. */
export function backlinks(db: Db, viewer: Viewer, a: FeatureAddress): Promise<Backlink[]> {
  return backlinksByFeature.get(viewerKey(viewer, formatFeatureAddress(a)), async () => {
    await featureAt(db, viewer, 'read', a);
    const { rows: [row] } = await db.execute<{ links: BacklinkRow[] }>(sql`select ${backlinksSql(viewer, a)} as links`);
    return backlinksOf(row!.links);
  });
}

/** backlinksSql's rows as the page lists them. */
export function backlinksOf(rows: BacklinkRow[]): Backlink[] {
  return rows.map((r) => {
    const at = new Date(r.at);
    if (r.kind === 'hypothesis') return { kind: r.kind, href: hypothesisHref(r.id), title: r.statement!, snippet: plainText(r.body, 160), author: r.author, at };
    if (r.kind === 'feature_page') {
      const feature = { model: r.model!, sae: r.sae!, index: r.feature_index! };
      const address = formatFeatureAddress(feature);
      return { kind: r.kind, href: featureHref(feature), title: r.label ? `${address} · ${r.label}` : address, snippet: plainText(r.body, 160), author: r.author, at };
    }
    const anchor = `#comment-${r.id}`;
    const [href, title] =
      r.thread_kind === 'hypothesis'
        ? [hypothesisHref(r.hypothesis_id!), r.statement!]
        : r.thread_kind === 'feature'
          ? [featureHref({ model: r.model!, sae: r.sae!, index: r.feature_index! }), formatFeatureAddress({ model: r.model!, sae: r.sae!, index: r.feature_index! })]
          : [saeHref({ model: r.model!, sae: r.sae! }), formatSaeAddress({ model: r.model!, sae: r.sae! })];
    return { kind: r.kind, href: href + anchor, title, snippet: plainText(r.body, 160), author: r.author, at };
  });
}

/**
 * Anonymous reads of a feature page are cacheable: proxy.ts asks for the page's validator before rendering, from one
 * indexed query over everything the page shows, and answers a request whose If-None-Match carries it with 304 and
 * no body (no render, which is the saving). Otherwise the page renders as before with the ETag and
 * `Cache-Control: public, no-cache` (stored, revalidated on every use). Signed-in pages show per-user things (the
 * header, votes, watch state) and stay as they are: never stored.
 *
 * No Last-Modified: a removed vote or comment, a deploy or a change of visibility has no time to give it, and a
 * 304 on If-Modified-Since alone would then hide them.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { sql } from 'drizzle-orm';
import { visibleSaeSql } from './authz';
import type { Db } from './db';

/** Auth.js names its session cookie `authjs.session-token` (`__Secure-` prefixed behind HTTPS). */
export const hasSessionCookie = (names: Iterable<string>) => [...names].some((name) => name.includes('authjs.session-token'));

/** Stored, but asked about on every use: an edit is visible on the next request. */
export const PUBLIC_REVALIDATE = 'public, no-cache';

const FEATURE_PATH = /^\/([^/]+)\/([^/]+)\/(\d{1,10})$/;

/** The feature address a path names, or null (another page, or an index no feature can have). */
export function featureAddressOf(pathname: string): { model: string; sae: string; index: number } | null {
  const m = FEATURE_PATH.exec(pathname);
  if (!m) return null;
  const index = Number(m[3]);
  if (index > 2 ** 31 - 1) return null;
  try {
    return { model: decodeURIComponent(m[1]!), sae: decodeURIComponent(m[2]!), index };
  } catch {
    return null;
  }
}

let buildId: string | undefined;

/** The build's id: a deploy changes the markup (and the chunks it names), so it is part of every validator. */
export function currentBuildId(): string {
  buildId ??= fs.readFileSync(path.resolve(process.env.LEXICON_NEXT_DIST_DIR ?? '.next', 'BUILD_ID'), 'utf8').trim();
  return buildId;
}

/**
 * The feature page's validator for an anonymous reader, or null when there is no such feature page for them (no
 * such model, SAE or index, or an SAE they may not see: it answers 404 as before, never 304). What goes in is what the page
 * shows: the wiki page's revision, the dashboard run shown, the feature's row in it and its latest recompute job, the comments (their
 * count and latest write, so a deletion counts too), label proposals and votes, hypotheses naming the feature and their votes,
 * backlinks, the labels of the similar features, and any change of visibility (it decides which similar features
 * are shown).
 */
export async function featurePageValidator(db: Db, address: { model: string; sae: string; index: number }): Promise<string | null> {
  const { model, sae, index } = address;
  const { rows } = await db.execute<{ state: unknown }>(sql`
    with s as (
      select sae.id, sae.model_id, sae.current_run_id, sae.content_hash, m.content_hash as model_hash
      from model m join sae on sae.model_id = m.id
      where m.slug = ${model} and sae.slug = ${sae} and ${index} < sae.d_sae and ${visibleSaeSql(null, sql`sae.id`)}
    )
    select json_build_array(
      s.current_run_id, s.content_hash, s.model_hash,
      (select completed_at from dashboard_run where id = s.current_run_id),
      -- a recompute moves its rows into the current run, a logit-weights job updates them: either is a new row version
      (select f.xmin::text from feature f where f.run_id = s.current_run_id and f.index = ${index}),
      (select json_build_array(p.revision, p.updated_at) from feature_page p where p.sae_id = s.id and p.index = ${index}),
      (select json_build_array(j.id, j.status, j.progress, j.finished_at) from job j
        where j.model_id = s.model_id and j.created_at > now() - interval '1 day' and j.type in ('dashboards', 'logit-weights')
          and j.params->>'saeId' = s.id::text and j.params->'features' @> jsonb_build_array(${index}::int)
        order by j.created_at desc limit 1),
      (select json_build_array(count(*), max(greatest(c.created_at, c.edited_at, c.deleted_at))) from comment c
        where c.sae_id = s.id and c.feature_index = ${index} and c.thread_kind = 'feature'),
      (select json_build_array(count(*), max(lp.created_at)) from label_proposal lp where lp.sae_id = s.id and lp.index = ${index}),
      (select md5(string_agg(v.user_id || ':' || v.proposal_id, ',' order by v.user_id)) from label_vote v
        where v.sae_id = s.id and v.index = ${index}),
      (select json_build_array(count(*), max(greatest(h.updated_at, h.status_changed_at))) from hypothesis_feature hf
        join hypothesis h on h.id = hf.hypothesis_id where hf.sae_id = s.id and hf.index = ${index}),
      (select md5(string_agg(hv.hypothesis_id || ':' || hv.user_id || ':' || hv.value, ',' order by hv.hypothesis_id, hv.user_id))
        from hypothesis_feature hf join hypothesis_vote hv on hv.hypothesis_id = hf.hypothesis_id
        where hf.sae_id = s.id and hf.index = ${index}),
      (select json_build_array(count(*), max(l.created_at)) from feature_link l
        where l.model_slug = ${model} and l.sae_slug = ${sae} and l.index = ${index}),
      (select json_build_array(count(*), max(p.updated_at)) from similar_feature sf
        left join feature_page p on p.sae_id = sf.other_sae_id and p.index = sf.other_index
        where sf.sae_id = s.id and sf.index = ${index}),
      (select json_build_array(count(*), max(updated_at)) from resource_access)
    ) as state
    from s`);
  const row = rows[0];
  if (!row) return null;
  const digest = createHash('sha256').update(currentBuildId()).update(JSON.stringify(row.state)).digest('base64url').slice(0, 27);
  // weak: compression changes the bytes, not what the page says
  return `W/"${digest}"`;
}

/**
 * The ETag of server-rendered HTML parts named by their cache keys (server/html-cache.ts: a key changes with what its
 * HTML shows) and the build's. Weak: compression changes the bytes, not the HTML.
 */
export function htmlPartsEtag(keys: Iterable<string>): string {
  return `W/"${createHash('sha256').update(currentBuildId()).update([...keys].join()).digest('base64url').slice(0, 27)}"`;
}

/** Whether an If-None-Match header names this (weak) ETag; `*` matches any. */
export function ifNoneMatchHits(header: string | null, etag: string): boolean {
  if (!header) return false;
  const opaque = (tag: string) => tag.trim().replace(/^W\//, '');
  return header.split(',').some((tag) => tag.trim() === '*' || opaque(tag) === opaque(etag));
}

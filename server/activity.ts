/** What happened lately across the wiki (home page): feature page edits, newest first, and jobs under way. */
import { sql } from 'drizzle-orm';
import { visibleSaeSql, type Viewer } from './authz';
import type { Db } from './db';
import { jobVisibleSql } from './jobs';
import { displayNameSql } from './users';

export interface RecentEdit {
  model: string;
  sae: string;
  index: number;
  revision: number;
  label: string;
  summary: string;
  author: string | null;
  at: Date;
}

/**
 * The latest revisions of feature pages `viewer` may see (walking feature_revision_recent_idx newest first), with
 * their addresses and authors.
 */
export async function recentEdits(db: Db, viewer: Viewer, limit = 15): Promise<RecentEdit[]> {
  const { rows } = await db.execute<Record<string, unknown>>(sql`
    select m.slug as model, s.slug as sae, r.index, r.revision, r.label, r.summary, r.created_at,
           ${displayNameSql()} as author
      from (select * from feature_revision fr where ${visibleSaeSql(viewer, sql`fr.sae_id`)} order by created_at desc limit ${limit}) r
      join sae s on s.id = r.sae_id
      join model m on m.id = s.model_id
      left join "user" u on u.id = r.author_id
     order by r.created_at desc`);
  return rows.map((r) => ({
    model: r.model as string,
    sae: r.sae as string,
    index: r.index as number,
    revision: r.revision as number,
    label: r.label as string,
    summary: r.summary as string,
    author: (r.author as string | null) ?? null,
    at: new Date(r.created_at as string),
  }));
}

export interface ActiveJob {
  id: string;
  type: string;
  status: string;
  progress: number;
  model: string | null;
  /** the SAE a dashboards job computes, when it names one */
  sae: string | null;
  createdAt: Date;
  startedAt: Date | null;
}

/** Queued and running jobs `viewer` may see, newest first, with the model (and SAE) they are for. */
export async function activeJobs(db: Db, viewer: Viewer, limit = 20): Promise<ActiveJob[]> {
  const { rows } = await db.execute<Record<string, unknown>>(sql`
    select j.id, j.type, j.status, j.progress, j.created_at, j.started_at, m.slug as model, s.slug as sae
      from job j
      left join model m on m.id = j.model_id
      left join sae s on s.id::text = j.params->>'saeId'
     where j.status in ('queued', 'running') and ${jobVisibleSql(viewer, { modelId: sql`j.model_id`, params: sql`j.params` })}
     order by j.created_at desc
     limit ${limit}`);
  return rows.map((r) => ({
    id: r.id as string,
    type: r.type as string,
    status: r.status as string,
    progress: r.progress as number,
    model: (r.model as string | null) ?? null,
    sae: (r.sae as string | null) ?? null,
    createdAt: new Date(r.created_at as string),
    startedAt: r.started_at ? new Date(r.started_at as string) : null,
  }));
}

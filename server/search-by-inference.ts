/**
 * Search by inference (top-features jobs): on one SAE, or on every SAE of a model the viewer may compute on. A
 * finished job with the same params over the same SAE content is reused instead of running the model again.
 */
import { and, desc, eq, sql } from 'drizzle-orm';
import { featurePages, jobs, saes } from '@/drizzle/schema';
import type { z } from 'zod';
import { jobKinds, type JobParams } from '@/jobs';
import { promptInput } from '@/jobs/types';
import { levelOn, maySeeJobContents, permissions, type Viewer } from './authz';
import type { Db } from './db';
import { enqueueJob, jobVisibleSql } from './jobs';
import { getQueue } from './jobs/queue';
import { listSaes } from './saes';

/** What the viewer chooses for a search (all of the job's params but the SAE); the text may not be empty. */
export const searchOptionsInput = jobKinds['top-features'].params.omit({ saeId: true }).extend({ input: promptInput });
type SearchOptions = z.infer<typeof searchOptionsInput>;

/** At most this many SAEs are searched at once from the model page (one job each). */
export const MAX_SEARCHED_SAES = 16;

export interface SearchJob {
  id: string;
  /** a finished job with the same SAE, SAE content and params was reused */
  cached: boolean;
}

/**
 * The newest finished top-features job with these params, run on the SAE as its content is now, whose contents the
 * viewer may see (their own, or any on an SAE they maintain). Its labels and densities must still be the wiki's: no
 * feature page of the SAE changed since, and the density came from the current dashboard run.
 */
async function cachedSearch(db: Db, viewer: NonNullable<Viewer>, params: JobParams<'top-features'>) {
  const candidates = await db
    .select()
    .from(jobs)
    .where(
      and(
        eq(jobs.type, 'top-features'),
        eq(jobs.status, 'done'),
        sql`${jobs.params} = ${JSON.stringify(params)}::jsonb`,
        sql`${jobs.provenance}->>'sae' = (select ${saes.contentHash} from ${saes} where ${saes.id} = ${params.saeId})`,
        sql`${jobs.result}->>'densityRun' is not distinct from (select ${saes.currentRunId}::text from ${saes} where ${saes.id} = ${params.saeId})`,
        sql`not exists (select 1 from ${featurePages} where ${featurePages.saeId} = ${params.saeId} and ${featurePages.updatedAt} > ${jobs.finishedAt})`,
        jobVisibleSql(viewer),
      ),
    )
    .orderBy(desc(jobs.finishedAt))
    .limit(5);
  for (const job of candidates) if (await maySeeJobContents(db, viewer, job)) return job;
  return undefined;
}

/** Searches one SAE the viewer may compute on (checked by the caller): a cached job, or a new one. */
export async function searchSae(
  db: Db,
  viewer: NonNullable<Viewer>,
  sae: { saeId: string; modelId: string },
  options: SearchOptions,
): Promise<SearchJob> {
  const params = jobKinds['top-features'].params.parse({ ...options, saeId: sae.saeId });
  const cached = await cachedSearch(db, viewer, params);
  if (cached) return { id: cached.id, cached: true };
  const job = await enqueueJob(await getQueue(), { type: 'top-features', params, userId: viewer.id, modelId: sae.modelId }, { requestedBy: viewer });
  return { id: job.id, cached: false };
}

/**
 * Searches every SAE of the model that the viewer may see and compute on, in hook order, at most MAX_SEARCHED_SAES
 * (`capped` says how many more there were).
 */
export async function searchModel(
  db: Db,
  viewer: NonNullable<Viewer>,
  modelId: string,
  options: SearchOptions,
): Promise<{ saes: (SearchJob & { sae: string; hookName: string })[]; capped: number }> {
  const computable = [];
  for (const sae of await listSaes(db, modelId)) {
    if (permissions(await levelOn(db, viewer, { sae: sae.id })).compute) computable.push(sae);
  }
  const searched = computable.slice(0, MAX_SEARCHED_SAES);
  const found = [];
  for (const sae of searched) {
    found.push({ ...(await searchSae(db, viewer, { saeId: sae.id, modelId }, options)), sae: sae.slug, hookName: sae.hookName });
  }
  return { saes: found, capped: computable.length - searched.length };
}

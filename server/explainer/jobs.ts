/** Starting and following automatic explanation jobs (the SAE page's panel, the feature page's button). */
import type { JobParams } from '@/jobs';
import type { Viewer } from '../authz';
import type { Db } from '../db';
import { notReady } from '../errors';
import { enqueueJob, recentJobs, type JobView } from '../jobs';
import { getQueue } from '../jobs/queue';
import type { ResolvedSae } from '../visibility';
import { EXPLAINER_NOT_CONFIGURED, explainerStatus } from './settings';

/** What any reader of the SAE may know of the endpoint: whether there is one and its model (not where it is). */
export async function explainerSummary(db: Db): Promise<{ configured: boolean; model: string | null; notConfigured: string }> {
  const status = await explainerStatus(db);
  return { configured: status.configured, model: status.model, notConfigured: EXPLAINER_NOT_CONFIGURED };
}

/** Enqueues an explain job for `user` (authorised by the caller), refused while no endpoint is set or the SAE has no dashboards. */
export async function enqueueExplain(db: Db, user: NonNullable<Viewer>, sae: ResolvedSae, features: JobParams<'explain'>['features']): Promise<{ id: string }> {
  if (!(await explainerStatus(db)).configured) throw notReady(EXPLAINER_NOT_CONFIGURED);
  if (!sae.currentRunId) throw notReady(`${sae.modelSlug}/${sae.saeSlug} has no dashboards yet: the explainer reads the top examples, so compute them first`);
  const job = await enqueueJob(
    await getQueue(),
    { type: 'explain', params: { saeId: sae.saeId, features, seed: 0 }, userId: user.id, modelId: sae.modelId },
    { requestedBy: user },
  );
  return { id: job.id };
}

/** The newest explain job on the SAE that `viewer` may see exist (as jobViews shows it). */
export async function latestExplainJob(db: Db, viewer: Viewer, sae: ResolvedSae): Promise<JobView | null> {
  const [job] = await recentJobs(db, viewer, { modelId: sae.modelId, type: 'explain', saeId: sae.saeId, limit: 1 });
  return job ?? null;
}

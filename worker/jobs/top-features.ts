import { and, eq, inArray } from 'drizzle-orm';
import { featurePages } from '@/drizzle/schema';
import type { JobParams } from '@/jobs';
import { prepareInput } from '@/compute/analyses/predict';
import { topFeatures } from '@/compute/analyses/top-features';
import type { JobContext, JobOutput } from './context';

/** The SAE's features that fire most on the user's text, each with its label as the wiki has it now. */
export async function topFeaturesJob(params: JobParams<'top-features'>, ctx: JobContext): Promise<JobOutput<'top-features'>> {
  const { row, sae, modelRow, model } = await ctx.sae(params.saeId);
  const ids = prepareInput(model, params.input);
  const found = topFeatures(model, sae, ids, { top: params.top });
  const indices = found.features.map((f) => f.feature);
  const pages =
    indices.length === 0
      ? []
      : await ctx.db
          .select({ index: featurePages.index, label: featurePages.label })
          .from(featurePages)
          .where(and(eq(featurePages.saeId, row.id), inArray(featurePages.index, indices)));
  const labels = new Map(pages.map((p) => [p.index, p.label]));
  const features = found.features.map((f) => ({ ...f, label: labels.get(f.feature) ?? '' }));
  return { result: { ...found, features }, inputs: { model: modelRow.contentHash, sae: row.contentHash } };
}

import { and, eq, inArray } from 'drizzle-orm';
import { featurePages, features as featureRows } from '@/drizzle/schema';
import type { JobParams } from '@/jobs';
import { prepareInput } from '@/compute/analyses/predict';
import { topFeatures } from '@/compute/analyses/top-features';
import type { JobContext, JobOutput } from './context';

/** The SAE's features that fire most on the user's text, each with its label and density as the wiki has them now. */
export async function topFeaturesJob(params: JobParams<'top-features'>, ctx: JobContext): Promise<JobOutput<'top-features'>> {
  const { row, sae, modelRow, model } = await ctx.sae(params.saeId);
  const ids = prepareInput(model, params.input);
  const found = topFeatures(model, sae, ids, { top: params.top, rank: params.rank, positions: params.positions, ignoreBos: params.ignoreBos });
  const indices = found.features.map((f) => f.feature);
  const [pages, densities] =
    indices.length === 0
      ? [[], []]
      : await Promise.all([
          ctx.db
            .select({ index: featurePages.index, label: featurePages.label })
            .from(featurePages)
            .where(and(eq(featurePages.saeId, row.id), inArray(featurePages.index, indices))),
          row.currentRunId
            ? ctx.db
                .select({ index: featureRows.index, density: featureRows.density })
                .from(featureRows)
                .where(and(eq(featureRows.runId, row.currentRunId), inArray(featureRows.index, indices)))
            : [],
        ]);
  const labels = new Map(pages.map((p) => [p.index, p.label]));
  const density = new Map(densities.map((d) => [d.index, d.density]));
  const features = found.features.map((f) => ({ ...f, label: labels.get(f.feature) ?? '', density: density.get(f.feature) ?? null }));
  return { result: { ...found, densityRun: row.currentRunId, features }, inputs: { model: modelRow.contentHash, sae: row.contentHash } };
}

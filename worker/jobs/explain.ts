/**
 * Automatic explanations over an SAE's features (jobs/kinds/explain.ts): one feature after another, each proposal
 * written as soon as its label is scored, so a cancelled or interrupted job keeps what it finished and a re-run goes
 * on from there. An endpoint's failure on one feature is counted and reported; the job fails only when every feature did.
 */
import { and, between, eq, gt, inArray } from 'drizzle-orm';
import { corpora, corpusContexts, dashboardRuns, features as featureRows } from '@/drizzle/schema';
import type { JobParams } from '@/jobs';
import { InputError } from '@/compute/errors';
import { contextMaxima } from '@/compute/analyses/context-maxima';
import { deriveSeed, permutation, seededRandom } from '@/compute/random';
import { ChatClient } from '@/server/explainer/client';
import { examplesOf, explainedBy, explainFeature } from '@/server/explainer/explain';
import { EXPLAINER_NOT_CONFIGURED, explainerEndpoint } from '@/server/explainer/settings';
import { proposeFromSource } from '@/server/label-votes';
import type { JobContext, JobOutput } from './context';
import { ProgressReporter } from './progress';

/** Corpus contexts drawn (and run through the SAE) to find each feature's non-firing examples. */
const NEGATIVE_POOL = 64;
/** Failures listed in the result (all are counted). */
const LISTED_ERRORS = 20;

export async function explainJob(params: JobParams<'explain'>, ctx: JobContext): Promise<JobOutput<'explain'>> {
  const endpoint = await explainerEndpoint(ctx.db);
  if (!endpoint) throw new InputError(EXPLAINER_NOT_CONFIGURED);
  const { row, sae, modelRow, model } = await ctx.sae(params.saeId);
  const [run] = row.currentRunId
    ? await ctx.db.select({ id: dashboardRuns.id, corpusId: dashboardRuns.corpusId }).from(dashboardRuns).where(eq(dashboardRuns.id, row.currentRunId))
    : [];
  if (!run) throw new InputError(`SAE ${row.slug} has no dashboards yet: the explainer reads the top examples, so compute the dashboards first`);

  const chosen = params.features ?? { from: 0, to: row.dSae - 1 };
  // checked before a range is spelled out
  const last = Array.isArray(chosen) ? chosen.reduce((a, b) => Math.max(a, b)) : chosen.to;
  if (last >= row.dSae) throw new InputError(`feature ${last} is not in SAE ${row.slug} (it has features 0 to ${row.dSae - 1})`);
  const asked = Array.isArray(chosen)
    ? [...new Set(chosen)].sort((a, b) => a - b)
    : Array.from({ length: chosen.to - chosen.from + 1 }, (_, i) => chosen.from + i);
  const liveRows = await ctx.db
    .select({ index: featureRows.index })
    .from(featureRows)
    .where(
      and(
        eq(featureRows.runId, run.id),
        gt(featureRows.nonzeroCount, 0),
        Array.isArray(chosen) ? inArray(featureRows.index, asked) : between(featureRows.index, chosen.from, chosen.to),
      ),
    )
    .orderBy(featureRows.index);
  const live = liveRows.map((r) => r.index);
  const done = await explainedBy(ctx.db, row.id, endpoint.model);
  const todo = live.filter((f) => !done.has(f));
  const counts = { explained: 0, alreadyProposed: 0, skipped: live.length - todo.length, failed: 0 };
  const errors: { feature: number; error: string }[] = [];
  const accuracies: number[] = [];
  const finished = () => counts.explained + counts.alreadyProposed + counts.failed;
  const reporter = new ProgressReporter(ctx);
  const report = (force = false, extra = {}) =>
    reporter.report({
      fraction: todo.length === 0 ? 1 : finished() / todo.length,
      phase: 'explaining',
      unit: 'features',
      done: finished(),
      total: todo.length,
      extra: { ...counts, model: endpoint.model, ...extra },
      force,
    });

  if (todo.length > 0) {
    await reporter.report({ fraction: 0, phase: 'finding non-firing contexts', unit: 'contexts', done: 0, total: NEGATIVE_POOL });
    const pool = await negativePool(ctx, run.corpusId, params.seed);
    const maxima = contextMaxima(model, sae, pool);
    const client = new ChatClient(ctx.db, endpoint, {
      signal: ctx.signal,
      // a 429's wait shows on the page (and is where a cancel is noticed)
      onRateLimited: (seconds) => report(true, { waitingSeconds: seconds }),
    });
    await report(true);
    for (const feature of todo) {
      const random = seededRandom(deriveSeed(params.seed, feature));
      const quiet = pool.filter((_, c) => maxima[c]![feature] === 0);
      const negatives = Array.from(permutation(random, quiet.length), (i) => quiet[i]!);
      try {
        const found = await explainFeature(client, model.tokenizer, await examplesOf(ctx.db, run, feature), negatives, random);
        const stored = await proposeFromSource(ctx.db, { saeId: row.id, index: feature }, found.label, {
          by: `auto (${endpoint.model})`,
          source: 'auto',
          model: endpoint.model,
          type: 'top examples, detection-scored',
          prompt: found.prompt,
          answer: found.answer,
          scores: { detection: found.detection },
          from: ctx.jobId,
        });
        if (stored) counts.explained++;
        else counts.alreadyProposed++;
        accuracies.push(found.detection.balancedAccuracy);
      } catch (err) {
        if (ctx.signal.aborted) throw err;
        counts.failed++;
        if (errors.length < LISTED_ERRORS) errors.push({ feature, error: (err as Error).message });
      }
      await report();
    }
    if (counts.failed === todo.length) {
      const first = errors[0]!;
      throw new InputError(`every feature failed (${counts.failed}); feature ${first.feature}: ${first.error}`);
    }
  }
  return {
    result: {
      model: endpoint.model,
      features: live.length,
      ...counts,
      dead: asked.length - live.length,
      errors,
      meanBalancedAccuracy: accuracies.length ? accuracies.reduce((a, b) => a + b, 0) / accuracies.length : null,
    },
    inputs: { model: modelRow.contentHash, sae: row.contentHash },
  };
}

/** Contexts drawn at random (seeded) from the corpus (its contexts are numbered 0 to nContexts - 1). */
async function negativePool(ctx: JobContext, corpusId: string, seed: number): Promise<number[][]> {
  const [corpus] = await ctx.db.select({ nContexts: corpora.nContexts }).from(corpora).where(eq(corpora.id, corpusId));
  const chosen = Array.from(permutation(seededRandom(seed), corpus?.nContexts ?? 0).slice(0, NEGATIVE_POOL));
  const rows = await ctx.db
    .select({ tokens: corpusContexts.tokens })
    .from(corpusContexts)
    .where(and(eq(corpusContexts.corpusId, corpusId), inArray(corpusContexts.index, chosen)))
    .orderBy(corpusContexts.index);
  return rows.map((r) => r.tokens);
}

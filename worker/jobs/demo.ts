/**
 * The demo job: a stories260K workspace from nothing. Each step reuses what an earlier attempt left (the model row,
 * an identical sampled corpus, SAEs already trained, dashboards already current), so a job taken over from a crashed
 * worker resumes where that one stopped; the steps are the ordinary jobs' handlers, run in this job.
 */
import { and, eq, sql } from 'drizzle-orm';
import { corpora, dashboardRuns } from '@/drizzle/schema';
import { DEMO_MODEL, ensureDemoModel } from '@/server/demo';
import { jobKinds, type JobParams } from '@/jobs';
import type { ProgressDetail } from '@/jobs/types';
import { registerModel } from '@/server/register-models';
import { defaultSaeSlug } from '@/server/register-saes';
import { getSaeBySlug } from '@/server/saes';
import type { JobContext, JobOutput } from './context';
import { sampleCorpusJob } from './corpus';
import { dashboardsJob } from './dashboards';
import { trainSaeJob } from './train-sae';

/** Relative durations of the steps (measured on 2 cores), for the overall fraction and ETA. */
const WEIGHT = { model: 1, corpus: 16, train: 17, dashboards: 26 };
/** Contexts per forward pass in the dashboards. */
const DASHBOARD_BATCH = 16;

interface Step {
  name: string;
  weight: number;
}

export async function demoJob(params: JobParams<'demo'>, ctx: JobContext): Promise<JobOutput<'demo'>> {
  const started = performance.now();
  const steps: Step[] = [
    { name: 'model', weight: WEIGHT.model },
    { name: 'corpus', weight: WEIGHT.corpus },
    ...params.hooks.map((hook) => ({ name: `train ${hook}`, weight: WEIGHT.train })),
    ...params.hooks.map((hook) => ({ name: `dashboards ${defaultSaeSlug(hook)}`, weight: WEIGHT.dashboards })),
  ];
  const totalWeight = steps.reduce((sum, s) => sum + s.weight, 0);
  const seconds: Record<string, number> = {};
  let stepNumber = 0;
  let weightDone = 0;

  /** Runs one step with a context whose progress maps into the step's share of the job. */
  async function step<T>(run: (stepCtx: JobContext) => Promise<T>): Promise<T> {
    const { name, weight } = steps[stepNumber++]!;
    const from = weightDone / totalWeight;
    const share = weight / totalWeight;
    const stepStarted = performance.now();
    const stepCtx: JobContext = {
      ...ctx,
      progress: (fraction, detail) => {
        const overall = from + share * fraction;
        const elapsed = (performance.now() - started) / 1000;
        return ctx.progress(overall, {
          ...(detail as ProgressDetail),
          step: name,
          stepNumber,
          steps: steps.length,
          jobEtaSeconds: overall > 0.02 ? (elapsed * (1 - overall)) / overall : null,
        });
      },
    };
    await stepCtx.progress(0, { phase: 'starting' });
    const result = await run(stepCtx);
    weightDone += weight;
    seconds[name] = (performance.now() - stepStarted) / 1000;
    return result;
  }

  const modelRow = await step(async (stepCtx) => {
    const location = await ensureDemoModel({ log: (line) => console.log(`[demo] ${line}`) });
    await stepCtx.progress(0.5, { phase: location.how === 'downloaded' ? 'downloaded' : 'registering' });
    return registerModel(ctx.db, location.dir, { slug: DEMO_MODEL });
  });

  const contextSize = params.contextSize;
  const corpusTokens = Math.floor(params.tokens / contextSize) * contextSize;
  const corpusId = await step(async (stepCtx) => {
    const [existing] = await ctx.db
      .select({ id: corpora.id })
      .from(corpora)
      .where(
        and(
          eq(corpora.modelId, modelRow.id),
          eq(corpora.contextSize, contextSize),
          eq(corpora.nTokens, corpusTokens),
          sql`${corpora.source}->>'kind' = 'sampled' and (${corpora.source}->>'seed')::int = ${params.seed}
            and (${corpora.source}->>'documentTokens')::int = ${params.documentTokens}`,
        ),
      )
      .limit(1);
    if (existing) return existing.id;
    const sampled = await sampleCorpusJob(
      jobKinds['sample-corpus'].params.parse({
        modelId: modelRow.id,
        name: `demo: stories sampled from ${DEMO_MODEL} (seed ${params.seed})`,
        maxTokens: params.tokens,
        documentTokens: params.documentTokens,
        contextSize,
        seed: params.seed,
        temperature: 1,
      }),
      stepCtx,
    );
    return sampled.result.corpusId;
  });

  const trained: { slug: string; id: string }[] = [];
  for (const [i, hookName] of params.hooks.entries()) {
    trained.push(
      await step(async (stepCtx) => {
        const slug = defaultSaeSlug(hookName);
        const existing = await getSaeBySlug(ctx.db, modelRow.id, slug);
        if (existing) return { slug, id: existing.id };
        const output = await trainSaeJob(
          jobKinds['train-sae'].params.parse({
            modelId: modelRow.id,
            corpusId,
            hookName,
            slug,
            dSae: params.dSae,
            architecture: params.architecture,
            k: params.k,
            l1: params.l1,
            lr: params.lr,
            epochs: params.epochs,
            steps: params.steps,
            batchSize: params.trainBatchSize,
            seed: params.seed + i,
          }),
          stepCtx,
        );
        return { slug, id: output.result.saeId };
      }),
    );
  }

  const saes: { slug: string; id: string; runId: string; evals: ReturnType<typeof summary> }[] = [];
  for (const sae of trained) {
    saes.push(
      await step(async (stepCtx) => {
        const current = await ctx.db.query.saes.findFirst({ where: (s, { eq }) => eq(s.id, sae.id) });
        if (current?.currentRunId) {
          const run = await ctx.db.query.dashboardRuns.findFirst({ where: eq(dashboardRuns.id, current.currentRunId) });
          if (run?.corpusId === corpusId) return { ...sae, runId: run.id, evals: summary(run.evals) };
        }
        const output = await dashboardsJob(jobKinds.dashboards.params.parse({ saeId: sae.id, corpusId, batchSize: DASHBOARD_BATCH }), stepCtx);
        const runId = output.result.runId;
        const run = await ctx.db.query.dashboardRuns.findFirst({ where: eq(dashboardRuns.id, runId) });
        return { ...sae, runId, evals: summary(run?.evals) };
      }),
    );
  }

  seconds.total = (performance.now() - started) / 1000;
  return {
    result: { model: DEMO_MODEL, modelId: modelRow.id, corpusId, nTokens: corpusTokens, saes, seconds },
    inputs: { model: modelRow.contentHash },
  };
}

/** The headline evals of a run, for the job's result. */
function summary(evals: unknown) {
  if (!evals) return null;
  const e = evals as { l0: number; mse: number; varianceExplained: number | null; ceRecovered: number | null; deadFraction: number; nTokens: number };
  return { nTokens: e.nTokens, l0: e.l0, mse: e.mse, varianceExplained: e.varianceExplained, ceRecovered: e.ceRecovered, deadFraction: e.deadFraction };
}

/**
 * `lexicon` commands that fill the database: corpora (import, sample, list), dashboards computed in this process,
 * and the stories260K demo. They run against the database of `npm start` (or DATABASE_URL, or the embedded one,
 * started for the command) through cli.ts's withDatabase.
 */
import path from 'node:path';
import type { Db } from '../server/db';
import type { JobRow } from '../server/jobs';
import type { ProgressDetail } from '../jobs/types';
import type { ModelRow } from '../server/models';
import { InputError } from '../compute/errors';
import { describeFoldLn, FOLD_LN_OPTIONS, foldLn, integer, integerList, number, requiredString, UsageError, type Command } from './args';
import { progressBar } from './progress';

type WithDatabase = <T>(fn: (db: Db) => Promise<T>) => Promise<T>;

async function getRun(db: Db, runId: string) {
  const [{ eq }, { dashboardRuns }] = await Promise.all([import('drizzle-orm'), import('../drizzle/schema')]);
  return db.query.dashboardRuns.findFirst({ where: eq(dashboardRuns.id, runId) });
}

async function modelBySlug(db: Db, slug: string): Promise<ModelRow> {
  const { getModelBySlug } = await import('../server/models');
  const model = await getModelBySlug(db, slug);
  if (!model) throw new InputError(`no model "${slug}" is registered; add it first with \`lexicon model add DIR\``);
  return model;
}

function describeCorpus(c: { id: string; name: string; nContexts: number; nTokens: number; contextSize: number; prependBos: boolean; contentHash: string }) {
  return `${c.id}  ${c.name}: ${c.nContexts} contexts × ${c.contextSize} tokens = ${c.nTokens} tokens, ${c.prependBos ? 'BOS prepended' : 'no BOS'}, sha256 ${c.contentHash.slice(0, 12)}`;
}

export function workspaceCommands(withDatabase: WithDatabase): Record<string, Command> {
  return {
    'corpus import': {
      usage: 'FILE --model SLUG [--context N] [--no-bos] [--sae SLUG] [--name NAME]',
      summary:
        "import a corpus: plain text (a document per blank-line-separated block), JSONL with a \"text\" (or \"tokens\") field, or .ids " +
        "(token ids, a document per line); tokenized with the model's tokenizer into contexts of the SAE's context_size, BOS as its prepend_bos says",
      options: { model: { type: 'string' }, context: { type: 'string' }, 'no-bos': { type: 'boolean' }, sae: { type: 'string' }, name: { type: 'string' } },
      positionals: true,
      async run(values, positionals) {
        if (positionals.length !== 1) throw new UsageError('give exactly one corpus file');
        const file = path.resolve(positionals[0]!);
        const modelSlug = requiredString(values, 'model');
        const contextSize = values.context === undefined ? undefined : integer(values, 'context', 0);
        const { importCorpusFile } = await import('../server/import-corpus');
        const corpus = await withDatabase(async (db) =>
          importCorpusFile(db, await modelBySlug(db, modelSlug), file, {
            contextSize,
            prependBos: values['no-bos'] ? false : undefined,
            saeSlug: values.sae as string | undefined,
            name: values.name as string | undefined,
          }),
        );
        console.log(`corpus ${describeCorpus(corpus)}`);
      },
    },

    'corpus sample': {
      usage: '--model SLUG [--documents N] [--max-tokens 100000] [--document-tokens 256] [--context 128] [--seed S] [--temperature 1] [--name NAME]',
      summary: 'sample a corpus from the model itself (seeded; stories for stories260K) and store it',
      options: {
        model: { type: 'string' },
        documents: { type: 'string' },
        'max-tokens': { type: 'string' },
        'document-tokens': { type: 'string' },
        context: { type: 'string' },
        seed: { type: 'string' },
        temperature: { type: 'string' },
        name: { type: 'string' },
      },
      async run(values) {
        const modelSlug = requiredString(values, 'model');
        const { jobKinds } = await import('../jobs');
        const parsed = jobKinds['sample-corpus'].params.safeParse({
          modelId: '00000000-0000-0000-0000-000000000000',
          documents: values.documents === undefined ? undefined : integer(values, 'documents', 0),
          maxTokens: values['max-tokens'] === undefined ? undefined : integer(values, 'max-tokens', 0),
          documentTokens: values['document-tokens'] === undefined ? undefined : integer(values, 'document-tokens', 0),
          contextSize: values.context === undefined ? undefined : integer(values, 'context', 0),
          seed: values.seed === undefined ? undefined : integer(values, 'seed', 0),
          temperature: number(values, 'temperature'),
          name: values.name,
        });
        if (!parsed.success) throw new UsageError(parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '));
        const params = parsed.data;
        const [{ storeCorpus }, { initBackend }, { loadModel }, { sampleModelCorpus }] = await Promise.all([
          import('../server/corpora'),
          import('../compute/backend'),
          import('../compute/model/load'),
          import('../compute/corpus/sampled'),
        ]);
        const corpus = await withDatabase(async (db) => {
          const model = await modelBySlug(db, modelSlug);
          await initBackend();
          const lm = await loadModel(model.path);
          try {
            const bar = progressBar('sampling');
            const started = performance.now();
            const sampled = await sampleModelCorpus(lm, {
              ...params,
              onProgress: ({ tokens }) => {
                const seconds = (performance.now() - started) / 1000;
                bar.update(Math.min(tokens, params.maxTokens), params.maxTokens, `tokens, ${(tokens / Math.max(seconds, 1e-3)).toFixed(0)} tokens/s`);
              },
            });
            bar.finish(`${sampled.documents} documents in ${((performance.now() - started) / 1000).toFixed(1)} s`);
            return storeCorpus({
              modelId: model.id,
              name: params.name ?? `sampled, seed ${params.seed}, ${sampled.contexts.length * params.contextSize} tokens`,
              contexts: sampled.contexts,
              contextSize: params.contextSize,
              prependBos: params.prependBos,
              source: sampled.source,
            });
          } finally {
            lm.dispose();
          }
        });
        console.log(`corpus ${describeCorpus(corpus)}`);
      },
    },

    'corpus list': {
      usage: '--model SLUG',
      summary: "the model's corpora (id, name, size, content hash)",
      options: { model: { type: 'string' } },
      async run(values) {
        const modelSlug = requiredString(values, 'model');
        const { listCorpora } = await import('../server/corpora');
        const list = await withDatabase(async (db) => listCorpora(db, (await modelBySlug(db, modelSlug)).id));
        if (list.length === 0) console.log(`no corpora for ${modelSlug}; import one with \`lexicon corpus import\` or sample one with \`lexicon corpus sample\``);
        for (const corpus of list) console.log(describeCorpus(corpus));
      },
    },

    dashboards: {
      usage:
        '--model SLUG --sae SLUG [--corpus ID|NAME] [--features 0,5,9] [--batch 16] [--ablate] [--fold-ln | --no-fold-ln] [--include-bos] ' +
        '[--random-examples 10] [--json]',
      summary:
        "compute an SAE's feature dashboards and evals over a stored corpus in this process (progress on stderr) and store them " +
        'as its current dashboards (a run over --features replaces just those)',
      options: {
        model: { type: 'string' },
        sae: { type: 'string' },
        corpus: { type: 'string' },
        features: { type: 'string' },
        batch: { type: 'string' },
        ablate: { type: 'boolean' },
        ...FOLD_LN_OPTIONS,
        'include-bos': { type: 'boolean' },
        'random-examples': { type: 'string' },
        json: { type: 'boolean' },
      },
      async run(values) {
        const modelSlug = requiredString(values, 'model');
        const saeSlug = requiredString(values, 'sae');
        const features = values.features === undefined ? undefined : integerList(values.features as string, 'features');
        const [{ listCorpora }, { getSaeBySlug }, { jobKinds }, { initBackend }, { loadModel }, { loadSae, validateSaeForModel }, { computeAndStoreDashboards }] =
          await Promise.all([
            import('../server/corpora'),
            import('../server/saes'),
            import('../jobs'),
            import('../compute/backend'),
            import('../compute/model/load'),
            import('../compute/sae/load'),
            import('../worker/jobs/dashboards'),
          ]);
        const outcome = await withDatabase(async (db) => {
          const model = await modelBySlug(db, modelSlug);
          const saeRow = await getSaeBySlug(db, model.id, saeSlug);
          if (!saeRow) throw new InputError(`no SAE "${saeSlug}" is registered under ${modelSlug}; add it with \`lexicon sae add DIR --model ${modelSlug}\``);
          const corpora = await listCorpora(db, model.id);
          const wanted = values.corpus as string | undefined;
          // by default the corpus of the SAE's current dashboards, else the newest
          const currentRun = saeRow.currentRunId ? await getRun(db, saeRow.currentRunId) : undefined;
          const corpus = wanted
            ? corpora.find((c) => c.id === wanted || c.name === wanted)
            : (corpora.find((c) => c.id === currentRun?.corpusId) ?? corpora[corpora.length - 1]);
          if (!corpus) {
            throw new InputError(
              wanted
                ? `no corpus "${wanted}" for ${modelSlug} (\`lexicon corpus list --model ${modelSlug}\`)`
                : `${modelSlug} has no corpus yet; import one with \`lexicon corpus import\` or sample one with \`lexicon corpus sample\``,
            );
          }
          if (!wanted) console.error(`corpus: ${describeCorpus(corpus)} (${currentRun?.corpusId === corpus.id ? 'that of the current dashboards' : 'the newest'}; choose with --corpus)`);
          const params = jobKinds.dashboards.params.parse({
            saeId: saeRow.id,
            corpusId: corpus.id,
            features,
            ablateTopExamples: values.ablate === true,
            foldLn: foldLn(values),
            excludeBos: values['include-bos'] !== true,
            randomExamples: integer(values, 'random-examples', 10),
            batchSize: values.batch === undefined ? 16 : integer(values, 'batch', 16),
          });
          await initBackend();
          const lm = await loadModel(model.path);
          const sae = await loadSae(saeRow.path);
          try {
            validateSaeForModel(sae, { hookNames: lm.hookNames, dModel: lm.config.dModel, dMlp: lm.config.dMlp });
            const bar = progressBar('dashboards');
            let phase = '';
            const result = await computeAndStoreDashboards({
              db,
              model: lm,
              sae,
              modelRow: model,
              saeRow,
              corpus,
              params,
              jobId: null,
              onProgress: (_fraction, detail) => {
                if (detail.phase === 'storing') return;
                if (phase && detail.phase !== phase) bar.update(detail.done ?? 0, detail.total ?? 1, describeDetail(detail));
                phase = detail.phase;
                bar.update(detail.done ?? 0, detail.total ?? 1, describeDetail(detail));
              },
            });
            bar.finish(`${result.features} features over ${result.nTokens} tokens in ${result.timings.totalSeconds.toFixed(1)} s`);
            return { ...result, foldLn: params.foldLn, excludeBos: params.excludeBos };
          } finally {
            sae.dispose();
            lm.dispose();
          }
        });
        const t = outcome.timings;
        if (values.json) {
          console.log(JSON.stringify(outcome));
        } else {
          console.log(
            `logit weights: ${describeFoldLn(outcome.foldLn)}; BOS ${outcome.excludeBos ? 'left out of' : 'included in'} the examples, max and histogram`,
          );
          console.log(
            `stored dashboard run ${outcome.runId}: ${outcome.features} feature${outcome.features === 1 ? '' : 's'}, ${outcome.nTokens} tokens, ${t.tokensPerSecond.toFixed(0)} tokens/s ` +
              `(model ${t.modelSeconds.toFixed(1)} s, SAE ${t.saeSeconds.toFixed(1)} s, bookkeeping ${t.bookkeepingSeconds.toFixed(1)} s, ` +
              `weights ${t.weightsSeconds.toFixed(1)} s, database ${t.databaseSeconds.toFixed(1)} s; ${t.chunks} pass${t.chunks === 1 ? '' : 'es'} over the corpus)`,
          );
        }
        if (outcome.warning) console.error(`WARNING: dashboard run ${outcome.runId} ${outcome.warning}`);
      },
    },

    demo: {
      usage: '[--tokens 100000] [--d-sae 512] [--epochs 5] [--no-wait]',
      summary:
        'set up the stories260K demo (model, sampled corpus, SAEs at blocks.1 and blocks.3, dashboards, evals) as a job: a running worker ' +
        '(npm start) takes it, else it runs in this process; progress on stderr (same as npm run demo)',
      options: { tokens: { type: 'string' }, 'd-sae': { type: 'string' }, epochs: { type: 'string' }, 'no-wait': { type: 'boolean' } },
      async run(values) {
        const params = {
          ...(values.tokens !== undefined && { tokens: integer(values, 'tokens', 0) }),
          ...(values['d-sae'] !== undefined && { dSae: integer(values, 'd-sae', 0) }),
          ...(values.epochs !== undefined && { epochs: integer(values, 'epochs', 0) }),
        };
        const [{ enqueueDemo }, { getJob, liveWorkerCount }, { startQueue }, { requireDatabaseUrl }] = await Promise.all([
          import('../server/demo'),
          import('../server/jobs'),
          import('../server/jobs/queue'),
          import('../server/db'),
        ]);
        const job = await withDatabase(async (db) => {
          const boss = await startQueue(requireDatabaseUrl());
          try {
            const { job, existing } = await enqueueDemo(boss, db, params);
            console.error(existing ? `the demo job ${job.id} is already ${job.status}; following it` : `enqueued the demo job ${job.id}`);
            if (values['no-wait']) return job;
            const workers = await liveWorkerCount(db);
            const follow = followJob(db, job.id, getJob);
            if (workers === 0 && job.status === 'queued') {
              console.error('no worker is running: running the demo in this process');
              await runInProcess(db, job.id);
            } else {
              console.error(`a worker (${workers} running) takes it; the home page shows its progress too. Ctrl-C stops following, not the job.`);
            }
            return await follow;
          } finally {
            await boss.stop({ graceful: false }).catch(() => undefined);
          }
        });
        if (job.status === 'failed') throw new InputError(`the demo failed: ${job.error}`);
        if (job.status === 'done') {
          const result = job.result as { saes: { slug: string; evals: { l0: number; varianceExplained: number | null; ceRecovered: number | null } | null }[]; seconds: { total: number } };
          console.log(`the demo is ready (${result.seconds.total.toFixed(0)} s): ${result.saes.map((s) => `stories260K/${s.slug}`).join(', ')}`);
          for (const sae of result.saes) {
            const e = sae.evals;
            if (e) console.log(`  ${sae.slug}: L0 ${e.l0.toFixed(1)}, variance explained ${fmt(e.varianceExplained)}, CE loss recovered (mean ablation) ${fmt(e.ceRecovered)}`);
          }
        } else if (job.status !== 'queued') {
          console.log(`the demo job is ${job.status}`);
        }
      },
    },
  };
}

function fmt(value: number | null): string {
  return value === null ? '—' : value.toFixed(3);
}

/** One line for a progress detail: the phase, units done, rate and ETA. */
export function describeDetail(detail: ProgressDetail): string {
  const parts: string[] = [];
  if (detail.step) parts.push(`step ${detail.stepNumber}/${detail.steps} ${detail.step}`);
  parts.push(detail.phase);
  if (detail.done !== undefined && detail.total !== undefined && detail.unit) parts.push(`${Math.round(detail.done)}/${detail.total} ${detail.unit}`);
  if (detail.rate) parts.push(`${detail.rate.toFixed(detail.rate < 10 ? 1 : 0)} ${detail.unit ?? 'tokens'}/s`);
  const eta = (detail.jobEtaSeconds as number | null | undefined) ?? detail.etaSeconds;
  if (eta !== null && eta !== undefined) parts.push(`ETA ${formatSeconds(eta)}`);
  return parts.join(' · ');
}

export function formatSeconds(seconds: number): string {
  if (seconds < 60) return `${Math.round(seconds)} s`;
  const minutes = Math.floor(seconds / 60);
  return minutes < 60 ? `${minutes} min ${Math.round(seconds % 60)} s` : `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

/** Prints the job's progress on stderr until it finishes; resolves with the finished row. */
async function followJob(db: Db, id: string, getJob: (db: Db, id: string) => Promise<JobRow | undefined>): Promise<JobRow> {
  let last = '';
  for (;;) {
    const job = await getJob(db, id);
    if (!job) throw new Error(`job ${id} disappeared`);
    if (job.status !== 'queued' && job.status !== 'running') return job;
    const detail = job.progressDetail as ProgressDetail | null;
    const line = `${job.status} ${(100 * job.progress).toFixed(0)}%${detail ? ` · ${describeDetail(detail)}` : ''}`;
    if (line !== last) console.error(`[demo] ${line}`);
    last = line;
    await new Promise((resolve) => setTimeout(resolve, 2000));
  }
}

/** Runs a queued job here as a worker would: with a heartbeat, so that if this process dies a worker takes it over. */
async function runInProcess(db: Db, jobId: string): Promise<void> {
  const [{ initBackend }, { startHeartbeat }, { executeJob }] = await Promise.all([
    import('../compute/backend'),
    import('../worker/heartbeat'),
    import('../worker/jobs'),
  ]);
  const backend = await initBackend();
  const heartbeat = await startHeartbeat(db, backend, `cli:${process.pid}`);
  try {
    await executeJob(db, { id: heartbeat.id, backend }, jobId);
  } finally {
    await heartbeat.stop({ forget: true });
  }
}

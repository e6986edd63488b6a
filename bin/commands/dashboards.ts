import type { Db } from '../../server/db';
import type { ProgressDetail } from '../../jobs/types';
import { InputError } from '../../compute/errors';
import { describeFoldLn, FOLD_LN_OPTIONS, foldLn, integer, integerList, requiredString, type Command } from '../args';
import { cancelJobOnSignal, followJob, runInProcess } from '../jobs';
import { describeDetail, progressBar } from '../progress';
import { describeCorpus, modelBySlug, withDatabase } from '../workspace';

export const dashboards: Command = {
  name: 'dashboards',
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
    const [{ listCorpora }, { getSaeBySlug }, { jobKinds }, { enqueueJob }, { startQueue }, { requireDatabaseUrl }] = await Promise.all([
      import('../../server/corpora'),
      import('../../server/saes'),
      import('../../jobs'),
      import('../../server/jobs'),
      import('../../server/jobs/queue'),
      import('../../server/db'),
    ]);
    // PostgreSQL, when this command starts it, in a process group of its own: a Ctrl-C reaches this process alone,
    // which cancels its job before it stops PostgreSQL
    const outcome = await withDatabase(
      async (db) => {
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
          batchSize: integer(values, 'batch', 16),
        });
        // a job like the pages', run here: cancelled on Ctrl-C, and taken over by a worker if this process dies
        const boss = await startQueue(requireDatabaseUrl());
        try {
          const job = await enqueueJob(boss, { type: 'dashboards', params, userId: null, modelId: model.id });
          console.error(`dashboards job ${job.id}`);
          const interrupt = await cancelJobOnSignal(db, job.id);
          try {
            const bar = progressBar('dashboards');
            const follow = followJob(
              db,
              job.id,
              (row) => {
                const detail = row.progressDetail as ProgressDetail | null;
                if (detail && detail.phase !== 'storing') bar.update(detail.done ?? 0, detail.total ?? 1, describeDetail(detail));
              },
              500,
            );
            // a worker sharing the database may have claimed it first: then this process helps with no shard of it but follows it
            await runInProcess(db, job.id);
            const ended = await follow;
            if (interrupt.signal) throw new InputError(`${interrupt.signal}: the dashboards job ${job.id} is ${ended.status}; its unfinished run is deleted`);
            if (ended.status !== 'done') throw new InputError(`the dashboards job ${job.id} ${ended.status === 'failed' ? `failed: ${ended.error}` : `was ${ended.status}`}`);
            const result = jobKinds.dashboards.result.parse(ended.result);
            bar.finish(`${result.features} features over ${result.nTokens} tokens in ${result.timings.totalSeconds.toFixed(1)} s`);
            return result;
          } finally {
            interrupt.release();
          }
        } finally {
          await boss.stop({ graceful: false }).catch(() => undefined);
        }
      },
      { ownProcessGroup: true },
    );
    const t = outcome.timings;
    if (values.json) {
      console.log(JSON.stringify(outcome));
    } else {
      console.log(`logit weights: ${describeFoldLn(outcome.foldLn)}; BOS ${outcome.excludeBos ? 'left out of' : 'included in'} the examples, max and histogram`);
      console.log(
        `stored dashboard run ${outcome.runId}: ${outcome.features} feature${outcome.features === 1 ? '' : 's'}, ${outcome.nTokens} tokens, ${t.tokensPerSecond.toFixed(0)} tokens/s ` +
          `(model ${t.modelSeconds.toFixed(1)} s, SAE ${t.saeSeconds.toFixed(1)} s, bookkeeping ${t.bookkeepingSeconds.toFixed(1)} s, ` +
          `weights ${t.weightsSeconds.toFixed(1)} s, database ${t.databaseSeconds.toFixed(1)} s; ${t.chunks} shard${t.chunks === 1 ? '' : 's'})`,
      );
    }
    if (outcome.warning) console.error(`WARNING: dashboard run ${outcome.runId} ${outcome.warning}`);
  },
};

async function getRun(db: Db, runId: string) {
  const [{ eq }, { dashboardRuns }] = await Promise.all([import('drizzle-orm'), import('../../drizzle/schema')]);
  return db.query.dashboardRuns.findFirst({ where: eq(dashboardRuns.id, runId) });
}

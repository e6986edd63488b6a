import type { ProgressDetail } from '../../jobs/types';
import { InputError } from '../../compute/errors';
import { integer, type Command } from '../args';
import { followJob, runInProcess } from '../jobs';
import { describeDetail } from '../progress';
import { withDatabase } from '../workspace';

export const demo: Command = {
  name: 'demo',
  usage: '[--tokens 100000] [--d-sae 512] [--epochs 5] [--no-wait]',
  summary:
    'set up the stories260K demo (model, sampled corpus, SAEs at blocks.1 and blocks.3, dashboards, evals) as a job: a running worker ' +
    '(npm start) takes it, else it runs in this process; progress on stderr (same as npm run demo)',
  options: { tokens: { type: 'string' }, 'd-sae': { type: 'string' }, epochs: { type: 'string' }, 'no-wait': { type: 'boolean' } },
  async run(values) {
    // only what was given, so that the job's defaults apply to the rest
    const params = {
      ...(values.tokens !== undefined && { tokens: integer(values, 'tokens', 0) }),
      ...(values['d-sae'] !== undefined && { dSae: integer(values, 'd-sae', 0) }),
      ...(values.epochs !== undefined && { epochs: integer(values, 'epochs', 0) }),
    };
    const [{ enqueueDemo }, { liveWorkerCount }, { startQueue }, { requireDatabaseUrl }] = await Promise.all([
      import('../../server/demo'),
      import('../../server/jobs'),
      import('../../server/jobs/queue'),
      import('../../server/db'),
    ]);
    const job = await withDatabase(async (db) => {
      const boss = await startQueue(requireDatabaseUrl());
      try {
        const { job, existing } = await enqueueDemo(boss, db, params);
        console.error(existing ? `the demo job ${job.id} is already ${job.status}; following it` : `enqueued the demo job ${job.id}`);
        if (values['no-wait']) return job;
        const workers = await liveWorkerCount(db);
        let last = '';
        const follow = followJob(
          db,
          job.id,
          (row) => {
            const detail = row.progressDetail as ProgressDetail | null;
            const line = `${row.status} ${(100 * row.progress).toFixed(0)}%${detail ? ` · ${describeDetail(detail)}` : ''}`;
            if (line !== last) console.error(`[demo] ${line}`);
            last = line;
          },
          2000,
        );
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
};

function fmt(value: number | null): string {
  return value === null ? '—' : value.toFixed(3);
}

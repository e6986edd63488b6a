/**
 * A dashboards job's progress as the pages see it (issue 15: a one-feature recompute sat at "running 0%"). A worker
 * (executeJob, in this process, with the real stories260K model and the fixture SAE) runs a whole-SAE run and a
 * one-feature recompute while the test reads the job record a few times a second, and every progress write is
 * recorded as it happens. From the start each write names its phase (loading the model, reading the corpus, a whole
 * SAE's similar features and the logit weights counted in features, then the passes counted in tokens with an ETA);
 * writes come at least every couple of seconds; and the record read by the page moves forward while the job runs.
 */
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { jobs } from '@/drizzle/schema';
import { jobKinds } from '@/jobs';
import type { ProgressDetail } from '@/jobs/types';
import { loadCorpusContexts, storeCorpus } from '@/server/corpora';
import { getDb, getPool } from '@/server/db';
import { enqueueJob } from '@/server/jobs';
import { getQueue } from '@/server/jobs/queue';
import { signUp, type UserRow } from '@/server/users';
import { initBackend } from '@/compute/backend';
import { rangesOfBatches } from '@/compute/dashboards/compute';
import { executeJob } from '@/worker/jobs';
import { EVAL_RANGES, PASS_RANGES } from '@/worker/jobs/dashboards';
import { callerFor } from '../helpers/caller';
import { startTestDatabase, type TestDatabase } from '../helpers/database';
import { seedStoriesDashboards } from '../helpers/stories';

/** every progress write of the worker, when it was made */
const writes = vi.hoisted(() => [] as { id: string; at: number; fraction: number; detail: ProgressDetail }[]);
vi.mock('@/server/jobs', async (original) => {
  const actual = await original<typeof import('@/server/jobs')>();
  return {
    ...actual,
    markProgress: (db: Parameters<typeof actual.markProgress>[0], id: string, fraction: number, detail?: unknown) => {
      writes.push({ id, at: performance.now(), fraction, detail: detail as ProgressDetail });
      return actual.markProgress(db, id, fraction, detail);
    },
  };
});

let database: TestDatabase;
let editor: UserRow;
let backend: string;
let wholeSaeJob: string;
/** the whole-SAE run's eval ranges (each pass of the evals one shard per range), and its features' pass ranges */
let evalRanges: number;
let passRanges: number;

beforeAll(async () => {
  database = await startTestDatabase();
  backend = await initBackend();
  editor = await signUp({ name: 'Ed', email: 'ed@example.org', password: 'correct horse' });
  const { modelRow, saeRow, corpus } = await seedStoriesDashboards(getDb());
  // four times the short stories: enough batches to watch the job move (about 10,000 tokens)
  const contexts = await loadCorpusContexts(getDb(), corpus.id);
  const longer = await storeCorpus({ modelId: modelRow.id, name: 'stories ×4', contexts: [contexts, contexts, contexts, contexts].flat(), contextSize: 64, prependBos: true, source: {} });
  evalRanges = Math.min(EVAL_RANGES, longer.nContexts);
  const params = jobKinds.dashboards.params.parse({ saeId: saeRow.id, corpusId: longer.id });
  passRanges = rangesOfBatches(await loadCorpusContexts(getDb(), longer.id), params.batchSize, PASS_RANGES).length;
  wholeSaeJob = (await enqueueJob(await getQueue(), { type: 'dashboards', params, userId: editor.id, modelId: modelRow.id })).id;
}, 300_000);

afterAll(async () => {
  await (await getQueue().catch(() => null))?.stop({ graceful: false });
  await getPool().end();
  await database?.stop();
});

/** Runs the job as a worker would, reading its record every 100 ms meanwhile: the progress each read saw while it ran. */
async function runWatched(id: string): Promise<number[]> {
  const seen: number[] = [];
  let running = true;
  const poll = (async () => {
    while (running) {
      const [row] = await getDb().select({ status: jobs.status, progress: jobs.progress }).from(jobs).where(eq(jobs.id, id));
      if (row!.status === 'running') seen.push(row!.progress);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  })();
  await executeJob(getDb(), { id: 'test-worker', backend }, id);
  running = false;
  await poll;
  const [row] = await getDb().select({ status: jobs.status, error: jobs.error }).from(jobs).where(eq(jobs.id, id));
  expect(row, row!.error ?? '').toMatchObject({ status: 'done' });
  return seen;
}

/**
 * What the job's progress writes said, checked against what the pages need: its phases once the corpus is read (and a
 * whole-SAE run's similar features compared), in order — each shard's passes, then storing it.
 */
function checkWrites(id: string, shardPhases: string[], { similar = false } = {}) {
  const mine = writes.filter((w) => w.id === id);
  const phases = mine.map((w) => w.detail.phase).filter((phase, i, all) => phase !== all[i - 1]);
  expect(phases).toEqual(['loading the model', 'reading the corpus', ...(similar ? ['similar features'] : []), ...shardPhases]);
  const passes = shardPhases.filter((phase) => phase !== 'logit weights' && phase !== 'storing');

  if (similar) {
    const compared = mine.filter((w) => w.detail.phase === 'similar features').map((w) => w.detail);
    expect(compared.every((d) => d.unit === 'features' && d.done! <= d.total!)).toBe(true);
    expect(compared.at(-1)!.done).toBe(compared.at(-1)!.total);
  }

  const weights = mine.filter((w) => w.detail.phase === 'logit weights').map((w) => w.detail);
  expect(weights[0]).toMatchObject({ unit: 'features', done: 0 });
  expect(weights.at(-1)!.done).toBe(weights.at(-1)!.total);

  const tokens = mine.filter((w) => passes.includes(w.detail.phase));
  // at least each pass's first report and the last: a job done in a few seconds (a recompute) writes no more
  expect(tokens.length, 'token reports').toBeGreaterThanOrEqual(passes.length + 1);
  for (const { detail, fraction } of tokens) {
    expect(detail).toMatchObject({ unit: 'tokens', done: detail.tokensDone, total: detail.tokensTotal });
    expect(detail.done!).toBeLessThanOrEqual(detail.total!);
    expect(fraction).toBeCloseTo(detail.done! / detail.total!, 10);
  }
  expect(tokens.every((w, i) => i === 0 || w.detail.done! > tokens[i - 1]!.detail.done!), 'tokens done grow').toBe(true);
  expect(tokens.slice(1).every((w) => typeof w.detail.etaSeconds === 'number' && w.detail.rate! > 0), 'a rate and an ETA once timed').toBe(true);

  // from the first write to the last pass's end, never more than a couple of seconds without one
  const untilStoring = mine.slice(0, mine.findIndex((w) => w.detail.phase === 'storing') + 1);
  const gaps = untilStoring.slice(1).map((w, i) => w.at - untilStoring[i]!.at);
  expect(Math.max(...gaps), `gaps between writes (ms): ${gaps.map((g) => g.toFixed(0)).join(', ')}`).toBeLessThan(2_500);
}

describe('dashboards progress', () => {
  it('a whole-SAE run reports its phases by name, then tokens done of the total with an ETA, every second or so', async () => {
    const seen = await runWatched(wholeSaeJob);
    // the evals' first passes over each range of the corpus, the features' two passes over each range, the evals'
    // mean-ablated passes, then the features' merge
    const shards = (phase: string, n: number) => Array.from({ length: n }, () => [phase, 'storing']).flat();
    expect(passRanges).toBeGreaterThan(1);
    checkWrites(
      wholeSaeJob,
      [
        ...shards('evals: clean, spliced and zero-ablated losses', evalRanges),
        ...shards('first pass: statistics', passRanges),
        ...shards('second pass: examples', passRanges),
        ...shards('evals: mean-ablated losses', evalRanges),
        'logit weights',
        'storing',
      ],
      { similar: true },
    );
    // the page's reads saw the job move forward
    expect(new Set(seen).size, `progress seen: ${seen.join(', ')}`).toBeGreaterThanOrEqual(4);
    expect(seen.every((p, i) => i === 0 || p >= seen[i - 1]!)).toBe(true);
  }, 300_000);

  it('so does a one-feature recompute from the feature page, ablating its top examples last', async () => {
    const { id } = await callerFor(editor).feature.recompute({ model: 'stories260K', sae: 'l2', index: 3, what: 'dashboard' });
    const seen = await runWatched(id);
    // one range of the corpus for a subset: its two passes, then the merge
    checkWrites(id, ['first pass: statistics', 'storing', 'second pass: examples', 'storing', 'logit weights', 'ablating the top examples', 'storing']);
    // a recompute skips the evals and is over in a second or two: the page's reads see it move, if not every write
    expect(new Set(seen).size, `progress seen: ${seen.join(', ')}`).toBeGreaterThanOrEqual(2);
    expect(seen.every((p, i) => i === 0 || p >= seen[i - 1]!)).toBe(true);
  }, 300_000);
});

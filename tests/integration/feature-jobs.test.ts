/**
 * The feature page's compute panels end to end below the browser: the tRPC mutations enqueue, the worker's job
 * handlers (run in this process through executeJob) compute with the real stories260K model and the fixture SAE,
 * and the job records carry what the panels show; a recompute rewrites the feature in the current run.
 */
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { corpora, jobs } from '@/drizzle/schema';
import { getDb, getPool } from '@/server/db';
import { compareEvidence } from '@/server/evidence';
import { getFeaturePage } from '@/server/feature-page';
import { getQueue } from '@/server/jobs/queue';
import { signUp, type UserRow } from '@/server/users';
import type { Ablation } from '@/compute/analyses/ablate';
import type { FeatureActivations } from '@/compute/analyses/activations';
import type { Steering } from '@/compute/analyses/steer';
import { initBackend } from '@/compute/backend';
import { executeJob } from '@/worker/jobs';
import { parseResult } from '@/jobs';
import { enqueueJob } from '@/server/jobs';
import { coefficientScan } from '@/worker/jobs/steer';
import { callerFor } from '../helpers/caller';
import { startTestDatabase, type TestDatabase } from '../helpers/database';
import { seedStoriesDashboards } from '../helpers/stories';

let database: TestDatabase;
let editor: UserRow;
let backend: string;
let feature: number;
/** stories260K's BOS token */
const BOS_ID = 1;
const TEXT = 'Once upon a time, there was a little girl named Lily. She loved to play with her ball.';

const at = () => ({ model: 'stories260K', sae: 'l2', index: feature });

/** Runs a job in this process as a worker would, and returns its record. */
async function execute(id: string) {
  await executeJob(getDb(), { id: 'test-worker', backend }, id);
  return (await getDb().query.jobs.findFirst({ where: eq(jobs.id, id) }))!;
}

beforeAll(async () => {
  database = await startTestDatabase();
  backend = await initBackend();
  editor = await signUp({ name: 'Ed', email: 'ed@example.org', password: 'correct horse' });
  await seedStoriesDashboards(getDb());
  // the most active feature that fires on the text
  const [row] = await getDb().execute<{ index: number }>(
    `select index from feature where run_id = '${(await getDb().query.saes.findFirst())!.currentRunId}' and density between 0.01 and 0.2 order by max_act desc limit 1`,
  ).then((r) => r.rows);
  feature = row!.index;
});

afterAll(async () => {
  await (await getQueue().catch(() => null))?.stop({ graceful: false });
  await getPool().end();
  await database?.stop();
});

describe('search by inference', () => {
  it('finds the SAE’s features that fire most on a text, largest first, with their labels', async () => {
    await expect(callerFor(null).sae.topFeatures({ model: 'stories260K', sae: 'l2', input: { text: TEXT } })).rejects.toMatchObject({ code: 'UNAUTHORIZED' });
    const search = async () => {
      const job = await execute((await callerFor(editor).sae.topFeatures({ model: 'stories260K', sae: 'l2', input: { text: TEXT }, top: 10 })).id);
      expect(job.status).toBe('done');
      return parseResult('top-features', job.result);
    };
    const first = await search();
    expect(first.features).toHaveLength(10);
    const maxima = first.features.map((f) => f.maxAct);
    expect(maxima).toEqual([...maxima].sort((a, b) => b - a));
    for (const f of first.features) {
      expect(f.position).toBeLessThan(first.tokens.length);
      expect(f.firing).toBeGreaterThan(0);
    }
    // the same maxima as Test your text reads for the first two features
    const picked = first.features.slice(0, 2).map((f) => f.feature);
    const sae = (await getDb().query.saes.findFirst())!;
    const params = { saeId: sae.id, input: { text: TEXT }, features: picked, topK: 0 };
    const test = await execute((await enqueueJob(await getQueue(), { type: 'activations', params, userId: editor.id, modelId: sae.modelId })).id);
    const read = parseResult('activations', test.result);
    expect(picked.map((f) => Math.max(...read.features[String(f)]!))).toEqual(first.features.slice(0, 2).map((f) => f.maxAct));

    const top = first.features[0]!;
    expect(top.label).toBe('');
    await callerFor(editor).feature.edit({ model: 'stories260K', sae: 'l2', index: top.feature, label: 'girls’ names', body: '', baseRevision: 0 });
    expect((await search()).features[0]).toMatchObject({ feature: top.feature, label: 'girls’ names' });
  });
});

describe('compute panel jobs', () => {
  it('Test your text: the feature’s activation at every token, and the most active features', async () => {
    const { id } = await callerFor(editor).feature.activations({ ...at(), input: { text: TEXT } });
    const job = await execute(id);
    expect(job.status).toBe('done');
    const result = job.result as FeatureActivations;
    expect(result.pieces[0]).toContain('<s>');
    expect(result.features[String(feature)]).toHaveLength(result.tokens.length);
    expect(result.top).toHaveLength(result.tokens.length);
    expect(job.provenance).toMatchObject({ model: expect.any(String), sae: expect.any(String), backend });
  });

  it('Ablate: loss before and after at each prediction, the logits that fell most, KL', async () => {
    const { id } = await callerFor(editor).feature.ablate({ ...at(), input: { text: TEXT } });
    const job = await execute(id);
    expect(job.status).toBe('done');
    const result = job.result as Ablation & { pieces: string[] };
    const n = result.tokens.length;
    expect(result.pieces).toHaveLength(n);
    expect(result.lossClean).toHaveLength(n - 1);
    expect(result.lossAblated).toHaveLength(n - 1);
    expect(result.kl).toHaveLength(n);
    expect(result.logitDeltas).toHaveLength(10);
    // where the feature is silent, zero-ablation changes nothing
    if (result.acts.every((a) => a === 0)) expect(result.lossAblated).toEqual(result.lossClean);
  });

  it('Ablate: a bad position fails the job with a message naming it', async () => {
    const { id } = await callerFor(editor).feature.ablate({ ...at(), input: { text: 'Once upon a time' }, positions: [99] });
    const job = await execute(id);
    expect(job.status).toBe('failed');
    expect(job.error).toMatch(/position 99 is out of range/);
  });

  it('Steer: one result per coefficient, with the target token’s logit', async () => {
    const { id } = await callerFor(editor).feature.steer({ ...at(), input: { text: TEXT }, coefficients: { from: -4, to: 4, steps: 5 }, targetToken: 'Lily' });
    const job = await execute(id);
    expect(job.status).toBe('done');
    const result = job.result as Steering & { pieces: string[] };
    expect(result.coefficients).toEqual([-4, -2, 0, 2, 4]);
    expect(result.target?.piece.trim()).toBe('Lily');
    expect(result.results.map((r) => r.coefficient)).toEqual([-4, -2, 0, 2, 4]);
    for (const r of result.results) {
      expect(r.loss).toBeGreaterThan(0);
      expect(typeof r.targetLogit).toBe('number');
      expect(r.top).toHaveLength(5);
    }
    expect(coefficientScan({ from: -10, to: 10, steps: 21 })[1]).toBe(-9);
  });

  it('Steer generation: default and steered continuations side by side; saved as evidence, a re-run reproduces them', async () => {
    await expect(callerFor(null).feature.steerGenerate({ ...at(), input: { text: TEXT }, steering: [{ feature, strength: 10 }] })).rejects.toMatchObject({ code: 'UNAUTHORIZED' });
    const request = { ...at(), input: { text: 'Once upon a time' }, steering: [{ feature, strength: 20 }, { feature: 3, strength: -5 }], temperature: 1, seed: 5, maxTokens: 12 };
    const job = await execute((await callerFor(editor).feature.steerGenerate(request)).id);
    expect(job.status).toBe('done');
    const result = parseResult('steer-generate', job.result);
    expect(result.pieces[0]).toContain('<s>');
    expect(result.steeringNorm).toBeGreaterThan(0);
    for (const c of [result.default, result.steered]) {
      expect(c.tokens.length).toBeGreaterThan(0);
      expect(c.tokens.length).toBeLessThanOrEqual(12);
      expect(c.logprobs).toHaveLength(c.tokens.length);
      expect(c.top.every((top) => top.length === 5)).toBe(true);
    }
    expect(result.steered.tokens).not.toEqual(result.default.tokens);
    expect(job.progressDetail).toMatchObject({ phase: 'generating', unit: 'tokens', total: 24 });
    expect(job.params).toMatchObject({ normalize: false, topK: 5, steering: request.steering });

    // evidence about the steered features: a re-run with the same seed gives the same tokens, log-probs within tolerance
    const { id: hypothesisId } = await callerFor(editor).hypothesis.create({ statement: 'Steering it moves the story', features: [`stories260K/l2/${feature}`] });
    const saved = await callerFor(editor).hypothesis.saveEvidence({ hypothesisId, source: { kind: 'job', jobId: job.id } });
    const rerun = await callerFor(editor).hypothesis.rerun({ evidenceId: saved.id });
    expect((await execute(rerun.jobId!)).status).toBe('done');
    const item = (await callerFor(editor).hypothesis.get({ id: hypothesisId })).evidence.find((e) => e.id === saved.id)!;
    expect(item).toMatchObject({ kind: 'steer-generate', feature: { index: feature } });
    expect(item.reruns[0]).toMatchObject({ agrees: true, comparison: { mismatch: null } });
    // the generated tokens and their log-probs of both continuations
    expect(item.reruns[0]!.comparison!.compared).toBe(result.tokens.length + 2 * (result.default.tokens.length + result.steered.tokens.length));
    // another token is a different finding, not a small difference
    const other = { ...result, steered: { ...result.steered, tokens: [result.steered.tokens[0]! + 1, ...result.steered.tokens.slice(1)] } };
    expect(compareEvidence('steer-generate', result, other, {}, {}).mismatch).toBe(`steered.tokens[0] differs: ${result.steered.tokens[0]} saved, ${result.steered.tokens[0]! + 1} now`);
  });

  it('Recompute: the dashboard comes back with the ablation loss change; logit weights alone are rewritten', async () => {
    const before = (await getFeaturePage(getDb(), 'stories260K', 'l2', feature))!;
    expect(before.top[0]!.lossDelta).toBeNull();
    const { id } = await callerFor(editor).feature.recompute({ ...at(), what: 'dashboard' });
    const job = await execute(id);
    expect(job.status).toBe('done');
    expect(job.progressDetail).toBeTruthy();
    const after = (await getFeaturePage(getDb(), 'stories260K', 'l2', feature))!;
    expect(after.run!.id).toBe(before.run!.id); // a subset run is merged into the current one
    expect(after.top[0]!.lossDelta).toHaveLength(after.top[0]!.tokens.length - 1);
    expect(after.stats!.maxAct).toBe(before.stats!.maxAct);
    expect(after.recompute).toMatchObject({ id, status: 'done' });

    await getDb().execute(`update feature set encoder_bias = 42, logit_top = '[]' where index = ${feature}`);
    const weights = await execute((await callerFor(editor).feature.recompute({ ...at(), what: 'logit-weights' })).id);
    expect(weights.status).toBe('done');
    const rewritten = (await getFeaturePage(getDb(), 'stories260K', 'l2', feature))!;
    expect(rewritten.stats!.encoderBias).toBe(before.stats!.encoderBias);
    expect(rewritten.stats!.logitTop).toEqual(before.stats!.logitTop);
    expect(rewritten.stats!.logitFoldLn).toBe(true);

    // the raw convention is one switch away, and the page then says which it shows
    const raw = await execute((await callerFor(editor).feature.recompute({ ...at(), what: 'logit-weights', foldLn: false })).id);
    expect(raw.result).toMatchObject({ foldLn: false });
    const rawPage = (await getFeaturePage(getDb(), 'stories260K', 'l2', feature))!;
    expect(rawPage.stats!.logitFoldLn).toBe(false);
    expect(rawPage.stats!.logitTop).not.toEqual(rewritten.stats!.logitTop);
  });

  it('Recompute with BOS included ranks it like any token, and the page says so', async () => {
    const before = (await getFeaturePage(getDb(), 'stories260K', 'l2', feature))!;
    expect(before.stats).toMatchObject({ bosExcluded: true });
    expect(before.random.length).toBeGreaterThan(0);
    expect(before.random.every((e) => e.tokens[e.maxPos] !== BOS_ID)).toBe(true);
    const job = await execute((await callerFor(editor).feature.recompute({ ...at(), what: 'dashboard', excludeBos: false })).id);
    expect(job.status).toBe('done');
    const after = (await getFeaturePage(getDb(), 'stories260K', 'l2', feature))!;
    expect(after.stats).toMatchObject({ bosExcluded: false, bosCount: before.stats!.bosCount, nonzeroCount: before.stats!.nonzeroCount });
    expect(after.stats!.maxAct).toBeGreaterThanOrEqual(before.stats!.maxAct);
  });

  it('Recompute needs dashboards to recompute into', async () => {
    const [corpus] = await getDb().select().from(corpora);
    expect(corpus).toBeTruthy();
    await getDb().execute(`update sae set current_run_id = null`);
    await expect(callerFor(editor).feature.recompute({ ...at(), what: 'dashboard' })).rejects.toMatchObject({ code: 'PRECONDITION_FAILED' });
    await expect(callerFor(editor).feature.recompute({ ...at(), what: 'logit-weights' })).rejects.toMatchObject({ code: 'PRECONDITION_FAILED' });
  });
});

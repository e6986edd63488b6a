/**
 * The walking skeleton against a real PostgreSQL (embedded) and a real worker process:
 * accounts, model registration, enqueue → worker → stored result, failures recorded.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getDb, getPool } from '@/server/db';
import { checkHealth } from '@/server/health';
import { getJob, type JobRow } from '@/server/jobs';
import { getQueue } from '@/server/jobs/queue';
import { registerModel } from '@/server/register-models';
import { setDisabled, signUp, verifyCredentials, type UserRow } from '@/server/users';
import { callerFor } from '../helpers/caller';
import { startTestDatabase, type TestDatabase } from '../helpers/database';
import { startWorker, waitFor, type TestWorker } from '../helpers/worker';
import { STORIES_DIR } from '../shared';

let database: TestDatabase;
let worker: TestWorker;
let admin: UserRow;

async function finished(id: string): Promise<JobRow> {
  return waitFor(async () => {
    const job = await getJob(getDb(), id);
    return job && (job.status === 'done' || job.status === 'failed') ? job : undefined;
  }, `job ${id}`);
}

beforeAll(async () => {
  database = await startTestDatabase();
  worker = await startWorker(database.url);
});

afterAll(async () => {
  await worker?.stop();
  await (await getQueue().catch(() => null))?.stop({ graceful: false });
  await getPool().end();
  await database?.stop();
});

describe('accounts', () => {
  it('makes the first account admin and later ones editors', async () => {
    admin = await signUp({ name: 'Ada', email: 'Ada@Example.org', password: 'correct horse' });
    expect(admin.role).toBe('admin');
    expect(admin.email).toBe('ada@example.org');
    expect(admin.passwordHash).toMatch(/^\$argon2id\$/);
    const second = await signUp({ name: 'Bo', email: 'bo@example.org', password: 'battery staple' });
    expect(second.role).toBe('editor');
  });

  it('answers a sign-up with a taken email, whatever its case, as any other, and leaves that account alone', async () => {
    const fresh = await callerFor(null).auth.signUp({ name: 'Cy', email: 'cy@example.org', password: 'whatever123' });
    const taken = await callerFor(null).auth.signUp({ name: 'A', email: 'ADA@example.org', password: 'whatever123' });
    expect(taken).toEqual(fresh);
    await expect(signUp({ name: 'A', email: 'ADA@example.org', password: 'whatever123' })).rejects.toThrow(/already exists/);
    expect((await verifyCredentials(getDb(), 'ada@example.org', 'correct horse'))?.name).toBe('Ada');
    expect(await verifyCredentials(getDb(), 'ada@example.org', 'whatever123')).toBeNull();
  });

  it('rejects a short password and a malformed email with messages naming them', async () => {
    await expect(callerFor(null).auth.signUp({ name: 'C', email: 'c@example.org', password: 'short' })).rejects.toThrow(/password/);
    await expect(callerFor(null).auth.signUp({ name: 'C', email: 'not-an-email', password: 'long enough' })).rejects.toThrow(/email/);
  });

  it('verifies the right password only, and no disabled account', async () => {
    expect((await verifyCredentials(getDb(), 'ada@example.org', 'correct horse'))?.id).toBe(admin.id);
    expect(await verifyCredentials(getDb(), 'ada@example.org', 'wrong horse')).toBeNull();
    expect(await verifyCredentials(getDb(), 'nobody@example.org', 'correct horse')).toBeNull();
    const bo = (await verifyCredentials(getDb(), 'bo@example.org', 'battery staple'))!;
    await setDisabled(getDb(), bo.id, true);
    expect(await verifyCredentials(getDb(), 'bo@example.org', 'battery staple')).toBeNull();
    // the only active admin cannot be disabled (the site would have nobody to administer it)
    await expect(setDisabled(getDb(), admin.id, true)).rejects.toThrow(/only active admin/);
    await setDisabled(getDb(), bo.id, false);
  });
});

describe('jobs', () => {
  it('registers stories260K from its directory', async () => {
    const model = await registerModel(getDb(), STORIES_DIR);
    expect(model.slug).toBe('stories260K');
    expect(model.architecture).toBe('llama');
    expect(model.config).toMatchObject({ nLayers: 5, dModel: 64, vocabSize: 512, contextLength: 512 });
    expect(model.contentHash).toMatch(/^[0-9a-f]{64}$/);
    expect((await callerFor(null).model.list()).map((m) => m.slug)).toEqual(['stories260K']);
  });

  it('needs an account to run compute', async () => {
    await expect(callerFor(null).job.run({ model: 'stories260K', input: { text: 'Once' } })).rejects.toThrow(/sign in/);
  });

  it('enqueues a run, the worker computes it, and the result is stored', async () => {
    const { id } = await callerFor(admin).job.run({ model: 'stories260K', input: { text: 'Once upon a time' }, top: 5, generate: 8 });
    const job = await finished(id);
    expect(job.error).toBeNull();
    expect(job.status).toBe('done');
    const result = job.result as { tokens: number[]; top: { id: number; prob: number }[][]; generated: number[] };
    expect(result.tokens[0]).toBe(1);
    expect(result.top).toHaveLength(result.tokens.length);
    expect(result.top[0]!.map((p) => p.id)).toEqual([403, 385, 410, 317, 407]);
    expect(result.generated).toHaveLength(8);
    expect(job.provenance).toMatchObject({ backend: expect.any(String), model: expect.stringMatching(/^[0-9a-f]{64}$/) });
    expect(job.startedAt!.getTime()).toBeLessThanOrEqual(job.finishedAt!.getTime());
    const recent = await callerFor(null).job.recent({ model: 'stories260K' });
    expect(recent[0]!.id).toBe(id);
  });

  it('records a job that fails with its error, and the worker keeps working', async () => {
    const tooLong = 'Once upon a time there was a cat. '.repeat(100);
    const { id } = await callerFor(admin).job.run({ model: 'stories260K', input: { text: tooLong } });
    const failed = await finished(id);
    expect(failed.status).toBe('failed');
    expect(failed.error).toMatch(/512/);

    const { id: outOfRange } = await callerFor(admin).job.run({ model: 'stories260K', input: { tokenIds: [1, 9999] } });
    expect((await finished(outOfRange)).error).toMatch(/9999/);

    const { id: next } = await callerFor(admin).job.run({ model: 'stories260K', input: { text: 'Lily' } });
    expect((await finished(next)).status).toBe('done');
  });

  it('fails a job whose model files are corrupt, with the problem named', async () => {
    const dir = path.join(database.dir, 'broken');
    fs.mkdirSync(dir);
    fs.copyFileSync(path.join(STORIES_DIR, 'tok512.bin'), path.join(dir, 'tok512.bin'));
    fs.copyFileSync(path.join(STORIES_DIR, 'stories260K.bin'), path.join(dir, 'model.bin'));
    await registerModel(getDb(), dir);
    // Truncate after registration, as a disk problem would.
    fs.truncateSync(path.join(dir, 'model.bin'), 1000);
    await getPool().query(`update model set content_hash = 'changed' where slug = 'broken'`);
    const { id } = await callerFor(admin).job.run({ model: 'broken', input: { text: 'Once' } });
    const job = await finished(id);
    expect(job.status).toBe('failed');
    expect(job.error).toMatch(/model\.bin/);
    expect(worker.process.exitCode).toBeNull();
  });

  it('rejects an empty prompt before enqueueing', async () => {
    await expect(callerFor(admin).job.run({ model: 'stories260K', input: { text: '   ' } })).rejects.toThrow(/empty/);
  });

  it('reports health with the worker and its backend', async () => {
    const health = await checkHealth(getDb());
    expect(health).toMatchObject({ ok: true, db: true, worker: { backend: expect.stringMatching(/wasm|cpu|tensorflow/) } });
  });
});

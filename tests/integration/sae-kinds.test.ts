/**
 * Issue 12's SAE kinds end to end below the browser: a hook_z SAE and a skip transcoder on the tiny GPT-2 register
 * (import check included), and a hook_z SAE's "Test your text" job carries its direct feature attribution, as
 * tests/reference/gpt2_kinds.py computes it.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jobs } from '@/drizzle/schema';
import { getDb, getPool } from '@/server/db';
import { getQueue } from '@/server/jobs/queue';
import { registerModel } from '@/server/register-models';
import { registerSae } from '@/server/register-saes';
import { signUp, type UserRow } from '@/server/users';
import type { FeatureActivations } from '@/compute/analyses/activations';
import type { FeatureAttribution } from '@/compute/analyses/dfa';
import { initBackend } from '@/compute/backend';
import { executeJob } from '@/worker/jobs';
import { callerFor } from '../helpers/caller';
import { startTestDatabase, type TestDatabase } from '../helpers/database';
import { FIXTURES_DIR } from '../shared';

const REFERENCE_DIR = path.join(import.meta.dirname, '../reference/gpt2-tiny-a-kinds');
const reference = JSON.parse(readFileSync(path.join(REFERENCE_DIR, 'expected.json'), 'utf8'));

let database: TestDatabase;
let backend: string;
let editor: UserRow;

beforeAll(async () => {
  database = await startTestDatabase();
  backend = await initBackend();
  editor = await signUp({ name: 'Ed', email: 'ed@example.org', password: 'correct horse' });
});

afterAll(async () => {
  await (await getQueue().catch(() => null))?.stop({ graceful: false });
  await getPool().end();
  await database?.stop();
});

describe('hook_z SAEs and transcoders in the wiki', () => {
  it('register, and a hook_z feature’s Test your text shows where it reads from', async () => {
    const model = await registerModel(getDb(), path.join(FIXTURES_DIR, 'gpt2-tiny-a'));
    const hookZ = await registerSae(getDb(), model, path.join(REFERENCE_DIR, 'hook-z-sae'));
    const transcoder = await registerSae(getDb(), model, path.join(REFERENCE_DIR, 'skip-transcoder'));
    expect(hookZ).toMatchObject({ hookName: 'blocks.1.attn.hook_z', dIn: 64 });
    expect(transcoder).toMatchObject({ hookName: 'blocks.0.ln2.hook_normalized', architecture: 'skip_transcoder' });
    // scored against hook_mlp_out, with nothing to flip
    expect(transcoder.importCheck).toMatchObject({ asGiven: { nTokens: expect.any(Number) } });
    expect(transcoder.importCheck).not.toHaveProperty('flipped');

    const seq = reference.sequences[0];
    const want = seq.hook_z_sae.dfa;
    const { id } = await callerFor(editor).feature.activations({
      model: model.slug, sae: hookZ.slug, index: want.feature, input: { tokenIds: seq.ids },
    });
    await executeJob(getDb(), { id: 'test-worker', backend }, id);
    const job = (await getDb().query.jobs.findFirst({ where: eq(jobs.id, id) }))!;
    expect(job.status, JSON.stringify(job.error)).toBe('done');
    const { dfa } = job.result as FeatureActivations & { dfa: FeatureAttribution };
    // the job's DFA is at the feature's peak in the text: the reference's position for this sequence is a later one
    const acts: number[] = seq.hook_z_sae.acts.map((row: number[]) => row[want.feature]);
    expect(dfa).toMatchObject({ feature: want.feature, position: acts.indexOf(Math.max(...acts)) });
    expect(Math.abs(dfa.sources.reduce((a, b) => a + b, 0) + dfa.bias - dfa.pre)).toBeLessThan(1e-4);
  });
});

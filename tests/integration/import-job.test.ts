/**
 * The import job started from the SAE page (sae.importDashboards): a maintainer imports from a base URL served by a
 * real HTTP server on 127.0.0.1, only an admin from a directory on the server; the job reports its progress and its
 * result (with the decoder vectors it stored), and the page's run says where it came from. Runs the worker's
 * executeJob in this process.
 */
import { createReadStream } from 'node:fs';
import fs from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getDb, getPool } from '@/server/db';
import { getFeaturePage } from '@/server/feature-page';
import { getJob } from '@/server/jobs';
import { createTeam, setAccess } from '@/server/teams';
import { signUp, type UserRow } from '@/server/users';
import { executeJob } from '@/worker/jobs';
import { callerFor } from '../helpers/caller';
import { startTestDatabase, type TestDatabase } from '../helpers/database';
import { writeNeuronpediaExport } from '../helpers/neuronpedia-export';
import { seedSyntheticModel, type SyntheticModel } from '../helpers/synthetic';

let database: TestDatabase;
let model: SyntheticModel;
let admin: UserRow;
let maintainer: UserRow;
let editor: UserRow;
let server: http.Server;
let root: string;
let exportDir: string;
const address = { model: 'np-job', sae: 'res8' };
const served: string[] = [];

beforeAll(async () => {
  database = await startTestDatabase();
  admin = await signUp({ name: 'Ada', email: 'ada@example.org', password: 'correct horse' });
  maintainer = await signUp({ name: 'Mo', email: 'mo@example.org', password: 'battery staple' });
  editor = await signUp({ name: 'Ed', email: 'ed@example.org', password: 'staple battery' });
  model = await seedSyntheticModel(getDb(), { slug: 'np-job', saes: [{ slug: 'res8', hookName: 'blocks.8.hook_resid_pre', dSae: 32 }] });
  const team = await createTeam(maintainer, { slug: 'np-team', name: 'NP team' });
  await setAccess(admin, 'sae', model.saes[0]!.id, { teamId: team.id, visibility: 'public' }, 'the SAE');
  root = await fs.mkdtemp(path.join(os.tmpdir(), 'lexicon-np-job-'));
  // with decoder vectors, which the SAE (whose files are not here) stores
  ({ dir: exportDir } = await writeNeuronpediaExport(root, { modelId: 'np-job', sourceId: '8-res-jb', vocab: model.vocab, nFeatures: 32, featuresPerBatch: 8, vectorWidth: 32 }));
  // the export's folder as a static site: a missing file answers 404, which ends a folder's batches
  server = http.createServer((req, res) => {
    const file = path.join(root, decodeURIComponent(new URL(req.url!, 'http://x').pathname));
    served.push(path.relative(root, file));
    fs.stat(file).then(
      () => createReadStream(file).pipe(res),
      () => res.writeHead(404).end(),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
}, 120_000);

afterAll(async () => {
  server?.close();
  await getPool().end();
  await database?.stop();
  await fs.rm(root, { recursive: true, force: true });
});

const worker = { id: 'test-worker', backend: 'cpu' };

describe('the import job', () => {
  it('imports from a base URL for the SAE’s maintainer, with progress and the run’s origin on the page', async () => {
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/np-job/8-res-jb`;
    const { jobId } = await callerFor(maintainer).sae.importDashboards({ ...address, format: 'neuronpedia', location: base });
    await executeJob(getDb(), worker, jobId);
    const job = (await getJob(getDb(), jobId))!;
    expect(job.error).toBeNull();
    expect(job).toMatchObject({
      type: 'import',
      status: 'done',
      progress: 1,
      result: { unchanged: false, features: 32, examples: 32 * 7, explanations: 32, vectors: { stored: 32, checked: 0, mismatched: 0, firstMismatches: [] } },
    });
    // the last phase computes the similar features from the stored rows, and the counts stay on show
    expect(job.progressDetail).toEqual(expect.objectContaining({ phase: 'similar features', unit: 'features', counts: { 'decoder vectors stored': 32 } }));
    expect(served).toEqual(expect.arrayContaining(['np-job/8-res-jb/features/batch-3.jsonl.gz', 'np-job/8-res-jb/features/batch-4.jsonl.gz', 'np-job/8-res-jb/source.jsonl']));
    const page = (await getFeaturePage(getDb(), 'np-job', 'res8', 4))!;
    expect(page.run?.source).toMatchObject({ kind: 'neuronpedia', path: base, nTokensStated: 8000 });
    expect(page.top).toHaveLength(3);
  });

  it('refuses a directory on the server to anyone but an admin, and a maintainer’s action to an editor', async () => {
    await expect(callerFor(maintainer).sae.importDashboards({ ...address, format: 'neuronpedia', location: exportDir })).rejects.toThrow(
      'only admins may import from a directory on the server; give a base URL (http or https)',
    );
    await expect(callerFor(editor).sae.importDashboards({ ...address, format: 'neuronpedia', location: 'http://127.0.0.1:9/x' })).rejects.toThrow(/maintainer/);
  });

  it('lets an admin import a directory, which holds the same files as the URL did: nothing to do', async () => {
    const { jobId } = await callerFor(admin).sae.importDashboards({ ...address, format: 'neuronpedia', location: exportDir });
    await executeJob(getDb(), worker, jobId);
    expect(await getJob(getDb(), jobId)).toMatchObject({ status: 'done', result: { unchanged: true } });
  });

  it('fails with the import’s message when the folder is no export', async () => {
    const { jobId } = await callerFor(admin).sae.importDashboards({ ...address, format: 'neuronpedia', location: root });
    await executeJob(getDb(), worker, jobId);
    expect(await getJob(getDb(), jobId)).toMatchObject({ status: 'failed', error: `${root} has no features/batch-N.jsonl.gz: not the source folder (<modelId>/<sourceId>/) of a Neuronpedia export` });
  });
});

/**
 * The REST API (/api/v1) through its route handler, against a real PostgreSQL: personal access tokens (created,
 * listed, revoked; only their hash stored), scopes, the token user's current role and visibility, request rates, the
 * label edit's revision check, and the OpenAPI document against the routes it describes.
 */
import { createHash, randomUUID } from 'node:crypto';
import { eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiTokens, jobs, resourceAccess, users } from '@/drizzle/schema';
import { GET, POST, PUT } from '@/app/api/v1/[...path]/route';
import { ROUTES } from '@/server/api/rest/routes';
import { getDb, getPool } from '@/server/db';
import { setDisabled, setRole, signUp, type UserRow } from '@/server/users';
import { callerFor } from '../helpers/caller';
import { startTestDatabase, type TestDatabase } from '../helpers/database';
import { seedSyntheticModel, type SyntheticModel } from '../helpers/synthetic';

let database: TestDatabase;
let model: SyntheticModel;
let admin: UserRow;
let editor: UserRow;
let outsider: UserRow;

const HANDLERS = { GET, PUT, POST } as const;

/** A request to the API as a client sends it; `token` becomes the bearer, `address` the X-Forwarded-For. */
async function api(method: keyof typeof HANDLERS, path: string, opts: { token?: string; body?: unknown; address?: string } = {}) {
  const headers = new Headers({ 'x-forwarded-for': opts.address ?? '10.0.0.1' });
  if (opts.token) headers.set('authorization', `Bearer ${opts.token}`);
  if (opts.body !== undefined) headers.set('content-type', 'application/json');
  const req = new Request(`http://lexicon.test/api/v1${path}`, { method, headers, body: opts.body === undefined ? undefined : JSON.stringify(opts.body) });
  const res = await HANDLERS[method](req);
  return { status: res.status, headers: res.headers, json: (await res.json()) as any };
}

async function tokenFor(user: UserRow, scope: 'read' | 'read-write', name = `${scope} token`) {
  return (await callerFor(user).apiToken.create({ name, scope })).token;
}

beforeAll(async () => {
  database = await startTestDatabase();
  admin = await signUp({ name: 'Ada', email: 'ada@example.org', password: 'correct horse' });
  editor = await signUp({ name: 'Bo', email: 'bo@example.org', password: 'battery staple' });
  outsider = await signUp({ name: 'Cy', email: 'cy@example.org', password: 'battery staple' });
  model = await seedSyntheticModel(getDb(), {
    slug: 'synth',
    vocabSize: 64,
    saes: [
      { slug: '1-res', hookName: 'blocks.1.hook_resid_post', dSae: 50 },
      { slug: 'secret', hookName: 'blocks.0.hook_resid_post', dSae: 20 },
    ],
    topExamples: 4,
    seed: 5,
  });
  await getDb().insert(resourceAccess).values({ kind: 'sae', resourceId: model.saes[1]!.id, ownerId: editor.id, visibility: 'private' });
});

afterAll(async () => {
  await getPool().end();
  await database?.stop();
});

describe('personal access tokens', () => {
  it('are shown once when created, stored as their SHA-256 only, listed with when they were last used, and revoked', async () => {
    const caller = callerFor(editor);
    const created = await caller.apiToken.create({ name: 'notebook', scope: 'read' });
    expect(created.token).toMatch(/^lex_[A-Za-z0-9_-]{43}$/);

    const [row] = await getDb().select().from(apiTokens).where(eq(apiTokens.id, created.id));
    expect(row!.tokenHash).toBe(createHash('sha256').update(created.token).digest('hex'));
    const { rows } = await getDb().execute(sql`select * from api_token where row_to_json(api_token)::text like ${`%${created.token.slice(4)}%`}`);
    expect(rows).toHaveLength(0);

    let listed = (await caller.apiToken.list()).find((t) => t.id === created.id)!;
    expect(listed).toMatchObject({ name: 'notebook', scope: 'read', lastUsedAt: null, revokedAt: null });
    expect(listed).not.toHaveProperty('token');
    expect(listed).not.toHaveProperty('tokenHash');

    expect((await api('GET', '/models', { token: created.token })).status).toBe(200);
    listed = (await caller.apiToken.list()).find((t) => t.id === created.id)!;
    expect(listed.lastUsedAt).toBeInstanceOf(Date);

    // only its owner sees and revokes it
    expect((await callerFor(outsider).apiToken.list()).map((t) => t.id)).not.toContain(created.id);
    await expect(callerFor(outsider).apiToken.revoke({ id: created.id })).rejects.toMatchObject({ code: 'NOT_FOUND' });

    await caller.apiToken.revoke({ id: created.id });
    expect((await caller.apiToken.list()).find((t) => t.id === created.id)!.revokedAt).toBeInstanceOf(Date);
    const refused = await api('GET', '/models', { token: created.token });
    expect(refused.status).toBe(401);
    expect(refused.json.error).toMatchObject({ code: 'UNAUTHORIZED', message: expect.stringContaining('revoked') });
  });

  it('is refused (401) when malformed, unknown, or its account is disabled or deleted', async () => {
    expect((await api('GET', '/models', { token: 'not-a-lexicon-token' })).json.error.message).toContain('lex_');
    expect((await api('GET', '/models', { token: `lex_${'A'.repeat(43)}` })).status).toBe(401);

    const gone = await signUp({ name: 'Dee', email: 'dee@example.org', password: 'battery staple' });
    const token = await tokenFor(gone, 'read');
    expect((await api('GET', '/models', { token })).status).toBe(200);
    await setDisabled(getDb(), gone.id, true);
    expect((await api('GET', '/models', { token })).status).toBe(401);
    await getDb().delete(users).where(eq(users.id, gone.id));
    expect((await api('GET', '/models', { token })).status).toBe(401);
  });
});

describe('reads', () => {
  it('lists models and SAEs, and pages through the feature table by cursor', async () => {
    const models = await api('GET', '/models');
    expect(models.status).toBe(200);
    const synth = models.json.models.find((m: { slug: string }) => m.slug === 'synth');
    // the private SAE is not listed to an anonymous reader
    expect(synth.saes.map((s: { slug: string }) => s.slug)).toEqual(['1-res']);

    const sae = await api('GET', '/synth/1-res');
    expect(sae.json).toMatchObject({ model: 'synth', slug: '1-res', dSae: 50, dashboards: { corpus: expect.any(String) } });

    const seen: number[] = [];
    let cursor: string | null = null;
    do {
      const page: Awaited<ReturnType<typeof api>> = await api('GET', `/synth/1-res/features?limit=20&sort=index&dir=asc${cursor ? `&cursor=${cursor}` : ''}`);
      expect(page.status).toBe(200);
      seen.push(...page.json.features.map((f: { index: number }) => f.index));
      cursor = page.json.next;
    } while (cursor);
    expect(seen).toEqual(Array.from({ length: 50 }, (_, i) => i));
  });

  it('gives a feature’s top examples with each token’s piece and activation, and its logit weights', async () => {
    const f = await api('GET', '/synth/1-res/3');
    expect(f.status).toBe(200);
    const expected = model.saes[0]!.dashboards[3]!;
    expect(f.json.density).toBeCloseTo(expected.density, 6);
    expect(f.json.top).toHaveLength(expected.topExamples.length);
    f.json.top.forEach((e: { tokens: number[]; pieces: string[]; acts: number[]; contextIndex: number }, rank: number) => {
      expect(e.contextIndex).toBe(expected.topExamples[rank]!.contextIndex);
      expect(e.pieces).toEqual(e.tokens.map((id) => model.vocab[id]));
      expect(e.acts).toHaveLength(e.tokens.length);
    });
    expect(f.json.logits.top[0]).toEqual({ id: expected.logitWeights.top[0]!.id, piece: model.vocab[expected.logitWeights.top[0]!.id], value: expect.any(Number) });
  });

  it('hides a private SAE (404) from an outsider’s token and shows it to its owner’s', async () => {
    const mine = await api('GET', '/synth/secret/2', { token: await tokenFor(editor, 'read') });
    expect(mine.status).toBe(200);
    for (const token of [await tokenFor(outsider, 'read-write'), undefined]) {
      const theirs = await api('GET', '/synth/secret/2', { token });
      expect(theirs.status).toBe(404);
      expect(theirs.json.error.code).toBe('NOT_FOUND');
      expect((await api('PUT', '/synth/secret/2/label', { token, body: { label: 'x', baseRevision: 0 } })).status).toBe(token ? 404 : 401);
    }
  });

  it('answers bad input with 400 naming the field, and unknown routes with 404 and 405', async () => {
    const bad = await api('GET', '/synth/1-res/features?limit=5000');
    expect(bad.status).toBe(400);
    expect(bad.json.error.message).toContain('limit');
    expect((await api('GET', '/synth/1-res/999')).status).toBe(404);
    expect((await api('GET', '/nothing/here/at/all/really')).status).toBe(404);
    const wrongMethod = await api('POST', '/synth/1-res/3');
    expect(wrongMethod.status).toBe(405);
    expect(wrongMethod.headers.get('allow')).toBe('GET');
  });

  it('gives a job in full to its owner and redacted to others', async () => {
    const id = randomUUID();
    await getDb().insert(jobs).values({ id, type: 'run', params: { modelId: model.id, input: { text: 'secret prompt' } }, userId: editor.id, modelId: model.id });
    const own = await api('GET', `/jobs/${id}`, { token: await tokenFor(editor, 'read') });
    expect(own.json).toMatchObject({ id, type: 'run', status: 'queued', redacted: false, params: { input: { text: 'secret prompt' } } });
    const other = await api('GET', `/jobs/${id}`, { token: await tokenFor(outsider, 'read') });
    expect(other.json).toMatchObject({ id, redacted: true, params: null });
  });
});

describe('writes', () => {
  it('are refused without a token (401) and with a read token (403)', async () => {
    const anonymous = await api('PUT', '/synth/1-res/5/label', { body: { label: 'cats', baseRevision: 0 } });
    expect(anonymous.status).toBe(401);
    const read = await api('PUT', '/synth/1-res/5/label', { token: await tokenFor(editor, 'read'), body: { label: 'cats', baseRevision: 0 } });
    expect(read.status).toBe(403);
    expect(read.json.error.message).toContain('read-only');
    expect((await api('GET', '/synth/1-res/5')).json.label).toBe('');
  });

  it('label a feature on its revision, keep the description, and conflict (409) on a stale baseRevision', async () => {
    const token = await tokenFor(editor, 'read-write');
    await callerFor(editor).feature.edit({ model: 'synth', sae: '1-res', index: 6, label: 'dogs', body: 'Fires on *dog*.', baseRevision: 0 });
    const before = (await api('GET', '/synth/1-res/6', { token })).json;
    expect(before).toMatchObject({ label: 'dogs', revision: 1 });

    const put = await api('PUT', '/synth/1-res/6/label', { token, body: { label: 'dogs and cats', baseRevision: before.revision } });
    expect(put).toMatchObject({ status: 200, json: { revision: 2 } });
    expect((await api('GET', '/synth/1-res/6')).json).toMatchObject({ label: 'dogs and cats', description: 'Fires on *dog*.', revision: 2 });

    const stale = await api('PUT', '/synth/1-res/6/label', { token, body: { label: 'cats', baseRevision: before.revision } });
    expect(stale.status).toBe(409);
    expect(stale.json.error.code).toBe('CONFLICT');
    expect((await api('GET', '/synth/1-res/6')).json.label).toBe('dogs and cats');
  });

  it('act with the account’s current role: a viewer’s read-write token may vote but not label until made editor', async () => {
    const voter = await signUp({ name: 'Eve', email: 'eve@example.org', password: 'battery staple' });
    await setRole(getDb(), voter.id, 'viewer');
    const token = await tokenFor(voter, 'read-write');
    expect((await api('PUT', '/synth/1-res/8/label', { token, body: { label: 'suns', baseRevision: 0 } })).status).toBe(403);

    const proposed = await api('POST', '/synth/1-res/8/proposals', { token: await tokenFor(editor, 'read-write'), body: { label: 'sunshine' } });
    expect(proposed.status).toBe(201);
    const vote = await api('POST', '/synth/1-res/8/vote', { token, body: { proposalId: proposed.json.id } });
    expect(vote).toMatchObject({ status: 200, json: { labelChanged: 'sunshine' } });
    const standing = await api('GET', '/synth/1-res/8/proposals');
    expect(standing.json).toMatchObject({ label: 'sunshine', proposals: [{ id: proposed.json.id, label: 'sunshine', author: 'Bo', votes: 1, shown: true }] });

    await setRole(getDb(), voter.id, 'editor', admin.id);
    expect((await api('PUT', '/synth/1-res/8/label', { token, body: { label: 'suns', baseRevision: 1 } })).status).toBe(200);
  });
});

describe('request rates', () => {
  it('refuse a token past its rate per minute (429 with Retry-After), and anonymous callers per address', async () => {
    process.env.LEXICON_API_RATE = '3';
    process.env.LEXICON_API_ANON_RATE = '2';
    try {
      const token = await tokenFor(editor, 'read');
      for (let i = 0; i < 3; i++) expect((await api('GET', '/models', { token })).status).toBe(200);
      const refused = await api('GET', '/models', { token });
      expect(refused.status).toBe(429);
      expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      expect(refused.json.error.code).toBe('TOO_MANY_REQUESTS');
      // another token of the same account has its own count
      expect((await api('GET', '/models', { token: await tokenFor(editor, 'read') })).status).toBe(200);

      for (let i = 0; i < 2; i++) expect((await api('GET', '/models', { address: '10.9.9.9' })).status).toBe(200);
      expect((await api('GET', '/models', { address: '10.9.9.9' })).status).toBe(429);
      expect((await api('GET', '/models', { address: '10.9.9.10' })).status).toBe(200);
    } finally {
      delete process.env.LEXICON_API_RATE;
      delete process.env.LEXICON_API_ANON_RATE;
    }
  });
});

describe('the OpenAPI document', () => {
  type Operation = { operationId: string; parameters: { name: string; in: string; required: boolean; schema: object }[]; requestBody?: { content: Record<string, { schema: { properties: object } }> }; responses: Record<string, { content?: Record<string, { schema: object }> }> };
  let doc: { openapi: string; servers: { url: string }[]; components: { schemas: Record<string, object> }; paths: Record<string, Record<string, Operation>> };

  beforeAll(async () => {
    doc = (await api('GET', '/openapi.json')).json;
  });

  it('is OpenAPI 3.1 with one operation per route, its path parameters and JSON schemas', () => {
    expect(doc.openapi).toBe('3.1.0');
    expect(doc.servers[0]!.url).toBe('http://lexicon.test/api/v1');
    expect(doc.components.schemas.Error).toMatchObject({ type: 'object', properties: { error: expect.any(Object) } });
    const operations = Object.entries(doc.paths).flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`));
    expect(operations.sort()).toEqual([...ROUTES.map((r) => `${r.method} ${r.path}`), 'GET /openapi.json'].sort());
    const ids = new Set<string>();
    for (const [path, ops] of Object.entries(doc.paths)) {
      const inPath = [...path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]);
      for (const op of Object.values(ops)) {
        expect(op.parameters?.filter((p) => p.in === 'path').map((p) => p.name) ?? []).toEqual(inPath);
        const ok = op.responses['200'] ?? op.responses['201'];
        expect(ok!.content!['application/json']!.schema).toBeTypeOf('object');
        ids.add(op.operationId);
      }
    }
    expect(ids.size).toBe(operations.length);
    const put = doc.paths['/{model}/{sae}/{index}/label']!.put!;
    expect(put.requestBody!.content['application/json']!.schema.properties).toHaveProperty('baseRevision');
    expect(doc.paths['/{model}/{sae}/features']!.get!.parameters.find((p) => p.name === 'cursor')).toMatchObject({ in: 'query', required: false });
    // parameters arrive as strings but are documented as what they parse to
    expect(doc.paths['/{model}/{sae}/{index}']!.get!.parameters.find((p) => p.name === 'index')).toMatchObject({ schema: { type: 'integer', minimum: 0 } });
    expect(doc.paths['/search']!.get!.parameters.find((p) => p.name === 'q')).toMatchObject({ in: 'query', required: true });
  });

  it('describes routes that answer: every read succeeds, every write parses its body', async () => {
    const jobId = randomUUID();
    await getDb().insert(jobs).values({ id: jobId, type: 'run', params: {}, userId: editor.id, modelId: model.id });
    const values: Record<string, string> = { model: 'synth', sae: '1-res', index: '4', id: jobId };
    const token = await tokenFor(admin, 'read-write');
    for (const [path, ops] of Object.entries(doc.paths)) {
      const concrete = path.replace(/\{(\w+)\}/g, (_, name: string) => values[name]!);
      for (const method of Object.keys(ops)) {
        const query = path === '/search' ? '?q=dogs' : '';
        const res = await api(method.toUpperCase() as keyof typeof HANDLERS, concrete + query, { token, body: method === 'get' ? undefined : {} });
        if (method === 'get') expect(res.status, `${method} ${path}`).toBe(200);
        else expect([res.status, res.json.error.code], `${method} ${path}`).toEqual([400, 'BAD_REQUEST']);
      }
    }
  });
});

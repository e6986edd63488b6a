/**
 * The Lexicon exchange format: a wiki written through the API (revisions, proposals with and without provenance,
 * votes, comments with replies, edits and a deletion, hypotheses with status history, votes and dashboard evidence
 * whose top example holds padding (id −1), a list, a team with an SAE's access) is exported, imported into a second
 * database where only the model and SAEs are registered (under other ids), and exported again: the files are the
 * same byte for byte. An import that fails half-way stores nothing; a wiki with content refuses an import.
 */
import fs from 'node:fs';
import path from 'node:path';
import { drizzle } from 'drizzle-orm/node-postgres';
import { count, eq, sql } from 'drizzle-orm';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as schema from '@/drizzle/schema';
import { featurePages, hypotheses, labelProposals, models, saes, users } from '@/drizzle/schema';
import { getDb, getPool, openPool, type Db } from '@/server/db';
import { exportLexicon, importLexicon } from '@/server/exchange/lexicon-format';
import { proposeFromSource } from '@/server/label-votes';
import { setAccess } from '@/server/teams';
import { signUp, type UserRow } from '@/server/users';
import { callerFor } from '../helpers/caller';
import { startTestDatabase, type TestDatabase } from '../helpers/database';
import { seedSyntheticModel, type SyntheticModel } from '../helpers/synthetic';
import { lexiconWithEnv } from '../unit/cli-helpers';

let source: TestDatabase;
let target: TestDatabase;
let targetPool: pg.Pool;
let targetDb: Db;
let synth: SyntheticModel;
let ada: UserRow;
let ed: UserRow;
let exported: string;

const at = (sae: string, index: number) => ({ model: 'synth', sae, index });

/** A wiki with a bit of everything, written as people write it. */
async function seedWiki() {
  ada = await signUp({ name: 'Ada', email: 'ada@example.org', password: 'correct horse' });
  ed = await signUp({ name: 'Ed', email: 'ed@example.org', password: 'correct horse' });
  const [a, b] = synth.saes;
  await callerFor(ed).feature.edit({ ...at('a', 1), label: 'cats', body: 'Fires on *cat*; see [[synth/b/2]].', summary: 'first look', baseRevision: 0 });
  await callerFor(ada).feature.edit({ ...at('a', 1), label: 'cats and dogs', body: 'Both.', summary: 'wider', baseRevision: 1 });
  const proposal = await callerFor(ed).wiki.propose({ ...at('b', 2), label: 'the word mat' });
  await callerFor(ada).wiki.propose({ ...at('b', 2), label: 'floor things' });
  await callerFor(ada).wiki.vote({ ...at('b', 2), proposalId: proposal.id });
  await proposeFromSource(getDb(), { saeId: b!.id, index: 3 }, 'weather words', {
    by: 'auto (test-model)',
    source: 'auto',
    model: 'test-model',
    scores: { detection: { balancedAccuracy: 0.8, n: 20 } },
  });

  const { id: first } = await callerFor(ed).comment.post({ target: { kind: 'feature', saeId: a!.id, index: 1 }, body: 'Is it only cats?' });
  await callerFor(ada).comment.post({ target: { kind: 'feature', saeId: a!.id, index: 1 }, parentId: first, body: 'Dogs too, @ed.' });
  await callerFor(ed).comment.edit({ id: first, body: 'Is it only cats? (edited)' });
  const { id: gone } = await callerFor(ed).comment.post({ target: { kind: 'sae', saeId: b!.id }, body: 'never mind' });
  await callerFor(ed).comment.delete({ id: gone });

  const { id: hypothesis } = await callerFor(ed).hypothesis.create({ statement: 'a/1 and b/2 are about pets', body: 'See [[synth/a/1]].', features: ['synth/a/1', 'synth/b/2'] });
  await callerFor(ada).hypothesis.setStatus({ id: hypothesis, status: 'supported', note: 'the dashboards agree' });
  await callerFor(ada).hypothesis.vote({ id: hypothesis, value: 1 });
  // the snapshot's top example ends in padding (id −1), as contexts of an imported Neuronpedia export may
  await padTopContext(a!.id, 1);
  await callerFor(ed).hypothesis.saveEvidence({ hypothesisId: hypothesis, source: { kind: 'snapshot', feature: at('a', 1) }, note: 'top examples' });
  await callerFor(ada).comment.post({ target: { kind: 'hypothesis', hypothesisId: hypothesis }, body: 'Convinced.' });

  const list = await callerFor(ed).list.create({ name: 'pets', description: 'animal features' });
  await callerFor(ed).list.addEntry({ id: list.id, address: 'synth/a/1', note: 'the clearest' });
  await callerFor(ed).list.addEntry({ id: list.id, address: 'synth/b/2' });

  const team = await callerFor(ada).team.create({ slug: 'pets-lab', name: 'Pets lab' });
  await setAccess(ada, 'sae', b!.id, { teamId: team.id, visibility: 'team' }, 'synth/b');
}

/** The last two tokens of the context of feature `index`'s first top example become padding (−1: four 0xff bytes each). */
async function padTopContext(saeId: string, index: number) {
  await getDb().execute(sql`
    update corpus_context c set tokens = substring(c.tokens from 1 for length(c.tokens) - 8) || '\\xffffffffffffffff'::bytea
      from sae s join dashboard_run r on r.id = s.current_run_id
           join feature_example e on e.run_id = r.id and e.feature_index = ${index} and e.kind = 'top' and e.rank = 0
     where s.id = ${saeId} and c.corpus_id = r.corpus_id and c.index = e.context_index`);
}

/** The model and SAEs registered in the target as they are in the source, under new ids. */
async function registerSame(db: Db) {
  for (const m of await getDb().select().from(models)) {
    const { id, ...model } = m;
    const [copy] = await db.insert(models).values(model).returning();
    for (const { id: _sae, ...s } of await getDb().select().from(saes).where(eq(saes.modelId, id))) {
      await db.insert(saes).values({ ...s, modelId: copy!.id, currentRunId: null });
    }
  }
}

const files = (dir: string) => Object.fromEntries(fs.readdirSync(dir).sort().map((f) => [f, fs.readFileSync(path.join(dir, f), 'utf8')]));
const lines = (dir: string, file: string) => fs.readFileSync(path.join(dir, file), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);

beforeAll(async () => {
  [source, target] = await Promise.all([startTestDatabase(), startTestDatabase()]);
  process.env.DATABASE_URL = source.url;
  targetPool = openPool(target.url);
  targetDb = drizzle(targetPool, { schema });
  synth = await seedSyntheticModel(getDb(), { slug: 'synth', saes: [{ slug: 'a', hookName: 'blocks.0.hook_resid_post', dSae: 32 }, { slug: 'b', hookName: 'blocks.1.hook_resid_post', dSae: 32 }] });
  await seedWiki();
  await registerSame(targetDb);
  exported = path.join(source.dir, 'export');
  await exportLexicon(getDb(), exported);
}, 300_000);

afterAll(async () => {
  await targetPool?.end();
  await getPool().end();
  await Promise.all([source?.stop(), target?.stop()]);
});

describe('lexicon export', () => {
  it('writes one JSONL file per table and a manifest with counts and the models and SAEs by address and hash', () => {
    const manifest = JSON.parse(fs.readFileSync(path.join(exported, 'manifest.json'), 'utf8'));
    expect(manifest).toMatchObject({ format: 'lexicon', version: 1, models: [{ slug: 'synth', contentHash: 'synthetic-synth' }] });
    expect(manifest.saes.map((s: { address: string }) => s.address)).toEqual(['synth/a', 'synth/b']);
    expect(manifest.counts).toMatchObject({
      'users.jsonl': 2,
      // an edit proposes its label and votes for it; the vote that picks b/2's label writes its revision
      'feature_revisions.jsonl': 3,
      'label_proposals.jsonl': 5,
      'label_votes.jsonl': 3,
      'comments.jsonl': 4,
      'comment_revisions.jsonl': 1,
      'hypotheses.jsonl': 1,
      'hypothesis_features.jsonl': 2,
      'evidence.jsonl': 1,
      'feature_list_entries.jsonl': 2,
      'team_members.jsonl': 1,
      'resource_access.jsonl': 1,
    });
    for (const [file, n] of Object.entries(manifest.counts)) expect(fs.readFileSync(path.join(exported, file), 'utf8').split('\n').filter(Boolean)).toHaveLength(n as number);

    // no password hashes; SAEs by address; provenance kept; ids inside evidence JSON written as addresses
    const accounts = lines(exported, 'users.jsonl');
    expect(accounts.map((u) => u.email).sort()).toEqual(['ada@example.org', 'ed@example.org']);
    expect(accounts.every((u) => !('passwordHash' in u))).toBe(true);
    expect(lines(exported, 'feature_revisions.jsonl').map((r) => [r.sae, r.index, r.revision, r.label])).toEqual([
      ['synth/a', 1, 1, 'cats'],
      ['synth/a', 1, 2, 'cats and dogs'],
      ['synth/b', 2, 1, 'the word mat'],
    ]);
    expect(lines(exported, 'label_proposals.jsonl').find((p) => p.label === 'weather words')!.provenance).toMatchObject({ by: 'auto (test-model)', scores: { detection: { n: 20 } } });
    const evidenceText = fs.readFileSync(path.join(exported, 'evidence.jsonl'), 'utf8');
    expect(evidenceText).toContain('"sae:synth/a"');
    expect(evidenceText).not.toContain(synth.saes[0]!.id);
    const [snapshot] = lines(exported, 'evidence.jsonl') as { result: { top: { tokens: number[] }[]; pieces: Record<string, string> } }[];
    expect(snapshot!.result.top[0]!.tokens.slice(-2)).toEqual([-1, -1]);
    expect(snapshot!.result.pieces['-1']).toBe('<pad>');
  });
});

describe('lexicon import', () => {
  it('stores nothing when a line names an SAE the wiki does not have, and says which file and line', async () => {
    const broken = path.join(source.dir, 'broken');
    fs.cpSync(exported, broken, { recursive: true });
    const file = path.join(broken, 'feature_list_entries.jsonl');
    const entries = fs.readFileSync(file, 'utf8').trim().split('\n');
    entries[1] = entries[1]!.replace('"synth/b"', '"synth/zz"');
    fs.writeFileSync(file, `${entries.join('\n')}\n`);
    await expect(importLexicon(targetDb, broken)).rejects.toThrow(`${file}:2: names SAE "synth/zz", which is neither registered here nor in the export's manifest`);
    for (const table of [users, hypotheses, featurePages, labelProposals]) expect((await targetDb.select({ n: count() }).from(table))[0]!.n).toBe(0);

    fs.writeFileSync(file, `${entries[0]}\n{"listId": \n`);
    await expect(importLexicon(targetDb, broken)).rejects.toThrow(new RegExp(`${file}:2: not JSON`));
  });

  it('refuses a dashboard snapshot whose tokens are not token ids, or an id below 0 without its piece, by file and line', async () => {
    const broken = path.join(source.dir, 'broken-tokens');
    fs.cpSync(exported, broken, { recursive: true });
    const file = path.join(broken, 'evidence.jsonl');
    const snapshot = lines(exported, 'evidence.jsonl')[0] as { result: { top: { tokens: unknown[] }[]; pieces: Record<string, string> } };
    const write = (change: (s: typeof snapshot) => void) => {
      const copy = structuredClone(snapshot);
      change(copy);
      fs.writeFileSync(file, `${JSON.stringify(copy)}\n`);
    };
    // padding (−1) has its piece: accepted, as the round trip below shows; −2 has none
    write((s) => (s.result.top[0]!.tokens[3] = -2));
    await expect(importLexicon(targetDb, broken)).rejects.toThrow(`${file}:1: result.top[0].tokens[3] is -2, an id below 0 (padding, or an imported run's own piece) with no piece in result.pieces`);
    write((s) => (s.result.top[1]!.tokens[0] = 2.5));
    await expect(importLexicon(targetDb, broken)).rejects.toThrow(`${file}:1: result is not a dashboard snapshot: top[1].tokens[0]:`);
    write((s) => delete (s.result as Partial<typeof s.result>).pieces);
    await expect(importLexicon(targetDb, broken)).rejects.toThrow(`${file}:1: result is not a dashboard snapshot: pieces:`);
    for (const table of [users, hypotheses, featurePages, labelProposals]) expect((await targetDb.select({ n: count() }).from(table))[0]!.n).toBe(0);
  });

  it('restores the export into an empty wiki; exporting that gives the same files', async () => {
    const counts = await importLexicon(targetDb, exported);
    expect(counts['comments.jsonl']).toBe(4);
    const again = path.join(target.dir, 'export-again');
    await exportLexicon(targetDb, again);
    expect(files(again)).toEqual(files(exported));
    // the imported pages read like the originals: the label, and the SAE by its id here
    const [page] = await targetDb.select().from(featurePages).where(eq(featurePages.label, 'cats and dogs'));
    const [saeHere] = await targetDb.select().from(saes).where(eq(saes.slug, 'a'));
    expect(page!.saeId).toBe(saeHere!.id);
    expect(saeHere!.id).not.toBe(synth.saes[0]!.id);
  });

  it('refuses a wiki that has content, and lexicon export --format lexicon writes the same files from the CLI', async () => {
    await expect(importLexicon(targetDb, exported)).rejects.toThrow(/this wiki is not empty \(1 teams, 1 team_members, 2 feature_pages, 3 feature_revisions, 5 label_proposals/);
    const viaCli = path.join(target.dir, 'export-cli');
    const run = await lexiconWithEnv({ DATABASE_URL: target.url }, 'export', '--format', 'lexicon', viaCli);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/exported 2 users, 1 teams/);
    expect(files(viaCli)).toEqual(files(exported));
    const refused = await lexiconWithEnv({ DATABASE_URL: target.url }, 'import', '--format', 'csv', viaCli);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('--format must be lexicon or neuronpedia or saedashboard, got "csv"');
  });
});

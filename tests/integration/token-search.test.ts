/**
 * Token search's match modes against a real PostgreSQL and the real stories260K model registered (its vocabulary in
 * model_vocab, its tok512.bin read for tokenising): the exact piece, the model's tokenisation of a word, pieces
 * containing the text (capped), and hostile text. Features come from synthetic dashboards stored under the model.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadLlama2cTokenizer, type Llama2cTokenizer } from '@/compute/tokenizer/llama2c';
import { getDb, getPool } from '@/server/db';
import { registerModel, vocabularyPieces } from '@/server/register-models';
import { SUBSTRING_MATCHES, TOKEN_TEXT_MAX } from '@/server/search';
import { modelTokenizer } from '@/server/vocabulary';
import { callerFor } from '../helpers/caller';
import { startTestDatabase, type TestDatabase } from '../helpers/database';
import { seedSyntheticModel, type SyntheticModel } from '../helpers/synthetic';
import { STORIES_DIR } from '../shared';

let database: TestDatabase;
let model: SyntheticModel;
let tokenizer: Llama2cTokenizer;
let pieces: string[];

beforeAll(async () => {
  database = await startTestDatabase();
  // Dashboards over the model's 512 token ids, then the real model registered under the same slug: its vocabulary,
  // path and content hash replace the synthetic ones.
  model = await seedSyntheticModel(getDb(), {
    slug: 'stories260K',
    vocabSize: 512,
    saes: [{ slug: 'res', hookName: 'blocks.1.hook_resid_post', dSae: 300 }],
    topExamples: 10,
    seed: 3,
  });
  await registerModel(getDb(), STORIES_DIR);
  // a model whose files are not on this machine: its vocabulary only
  await seedSyntheticModel(getDb(), { slug: 'synth', saes: [] });
  tokenizer = await loadLlama2cTokenizer(path.join(STORIES_DIR, 'tok512.bin'));
  pieces = vocabularyPieces(tokenizer);
}, 120_000);

afterAll(async () => {
  await getPool().end();
  await database?.stop();
});

const search = (token: string, match?: 'word' | 'substring', m = 'stories260K') => callerFor(null).search.token({ model: m, token, match });
const tokens = (ids: number[]) => ids.map((id) => ({ id, piece: pieces[id]! }));

/** Features whose top examples peak on one of `ids`, from the generated dashboards (sae/index/token). */
function expectedFiring(ids: Set<number>): string[] {
  return model.saes.flatMap((s) =>
    s.dashboards.flatMap((d) =>
      [...new Set(d.topExamples.map((e) => e.tokens[e.maxPos]!).filter((id) => ids.has(id)))].map((id) => `${s.slug}/${d.index}/${id}`),
    ),
  );
}

describe('token search', () => {
  it('finds a piece exactly, ignoring surrounding spaces', async () => {
    const the = pieces.indexOf(' the');
    expect(the).toBeGreaterThan(0);
    const result = await search('the');
    expect(result.match).toEqual({ mode: 'exact', tokens: tokens([the]) });
    expect(result.firing.every((h) => h.tokenId === the)).toBe(true);
  });

  it("splits a word that is no piece as the model's tokenizer does, with and without a leading space", async () => {
    expect(pieces.some((p) => p.trim() === 'ball')).toBe(false);
    const result = await search('ball');
    const asWord = tokenizer.encode('ball'); // the dummy prefix: " ball"
    const inside = tokenizer.encode('ball', { dummyPrefix: false });
    expect(asWord.map((id) => pieces[id])).toEqual([' b', 'all']);
    expect(inside.map((id) => pieces[id])).toEqual(['b', 'all']);
    expect(result.match).toEqual({
      mode: 'tokenised',
      tokens: tokens([...new Set([...asWord, ...inside])]),
      spellings: [
        { text: ' ball', tokens: tokens(asWord) },
        { text: 'ball', tokens: tokens(inside) },
      ],
    });
    // features for each of the tokens
    const ids = new Set(result.match.tokens.map((t) => t.id));
    const expected = expectedFiring(ids);
    expect(expected.length).toBeGreaterThan(1);
    expect(result.firing.map((h) => `${h.sae}/${h.index}/${h.tokenId}`).sort()).toEqual(expected.slice().sort());
    expect(new Set(result.firing.map((h) => h.tokenId)).size).toBeGreaterThan(1);
  });

  it('finds the pieces containing the text, ignoring case, shortest first', async () => {
    const result = await search('HE', 'substring');
    const expected = pieces.flatMap((p, id) => (p.toLowerCase().includes('he') ? [id] : []));
    expect(expected.length).toBeGreaterThan(1);
    expect(result.match.mode).toBe('substring');
    expect(result.match).toMatchObject({ total: expected.length });
    expect(result.match.tokens.map((t) => t.id).sort((a, b) => a - b)).toEqual(expected);
    expect(result.match.tokens[0]!.piece).toBe('he');
    const lengths = result.match.tokens.map((t) => t.piece.length);
    expect(lengths).toEqual(lengths.slice().sort((a, b) => a - b));
  });

  it(`lists at most ${SUBSTRING_MATCHES} pieces and counts the rest`, async () => {
    const expected = pieces.filter((p) => p.toLowerCase().includes('e')).length;
    expect(expected).toBeGreaterThan(SUBSTRING_MATCHES);
    const result = await search('E', 'substring');
    expect(result.match).toMatchObject({ mode: 'substring', total: expected });
    expect(result.match.tokens).toHaveLength(SUBSTRING_MATCHES);
    expect(result.match.tokens.every((t) => t.piece.toLowerCase().includes('e'))).toBe(true);
  });

  it('takes % _ and \\ as plain characters, and refuses empty and overlong text', async () => {
    for (const text of ['%', '_', '\\', 'a%', '%_%']) {
      const result = await search(text, 'substring');
      expect(result.match).toMatchObject({ total: pieces.filter((p) => p.includes(text)).length });
      expect(result.match.tokens.every((t) => t.piece.includes(text))).toBe(true);
    }
    // "%" is a piece; no piece is "_": tokenised as the model does, into a byte token
    expect((await search('%')).match).toEqual({ mode: 'exact', tokens: tokens([pieces.indexOf('%')]) });
    expect((await search('_')).match).toMatchObject({ mode: 'tokenised', spellings: [{ text: ' _' }, { text: '_', tokens: [{ piece: '<0x5F>' }] }] });
    await expect(search('')).rejects.toThrow('type a token');
    await expect(search('b'.repeat(TOKEN_TEXT_MAX + 1))).rejects.toThrow(`the token text is ${TOKEN_TEXT_MAX + 1} characters long; token search takes at most ${TOKEN_TEXT_MAX}`);
    await expect(search('b'.repeat(TOKEN_TEXT_MAX))).resolves.toMatchObject({ match: { mode: 'tokenised' } });
  });

  it('matches whitespace only as a whitespace piece, never by tokenising it', async () => {
    const space = pieces.indexOf(' ');
    expect((await search('   ')).match).toEqual({ mode: 'exact', tokens: tokens([space]) });
    expect((await search('\t', 'word', 'synth')).match).toEqual({ mode: 'exact', tokens: [] });
  });

  it("says so when the model's tokenizer files cannot be read", async () => {
    await expect(search('zzzq', 'word', 'synth')).rejects.toThrow('the tokenizer files of model "synth" cannot be read');
    // the exact piece and substring modes need only the stored vocabulary
    expect((await search('zzzq', 'substring', 'synth')).match).toEqual({ mode: 'substring', tokens: [], total: 0 });
  });

  it('keeps one tokenizer per model, and reads it again when the files change', async () => {
    const row = { slug: 'stories260K', path: STORIES_DIR, contentHash: 'a' };
    const first = await modelTokenizer(row);
    expect(await modelTokenizer(row)).toBe(first);
    expect(await modelTokenizer({ ...row, contentHash: 'b' })).not.toBe(first);
  });
});

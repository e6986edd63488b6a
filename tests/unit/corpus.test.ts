import { promises as fs } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '@/compute/backend';
import { buildCorpus } from '@/compute/corpus/build';
import { chunkIntoContexts, corpusHash, parseCorpusFile, tokenizeDocuments } from '@/compute/corpus/contexts';
import { sampleCorpus } from '@/compute/corpus/sample';
import { InputError } from '@/compute/errors';
import { loadModel } from '@/compute/model/load';
import type { LanguageModel } from '@/compute/model/types';
import { STORIES_DIR } from '../shared';
import { makeTempDir } from './sae-helpers';

const STORIES_FILE = fileURLToPath(new URL('./fixtures/short-stories.txt', import.meta.url));
const BOS = 1;

let model: LanguageModel;
let tmp: string;

beforeAll(async () => {
  await initBackend();
  model = await loadModel(STORIES_DIR);
  tmp = await makeTempDir('corpus');
});

afterAll(async () => {
  model?.dispose();
  await fs.rm(tmp, { recursive: true, force: true });
});

describe('chunkIntoContexts (SAELens concat_and_batch_sequences)', () => {
  it('starts every context with BOS, separates documents with BOS, carries long documents over and drops the last partial context', () => {
    const contexts = chunkIntoContexts([[5, 6, 7], [8, 9], [10, 11, 12, 13]], { contextSize: 4, prependBos: true, bosId: BOS });
    expect(contexts).toEqual([
      [BOS, 5, 6, 7],
      [BOS, 8, 9, BOS], // the separator before [10, ...] fills the context
      [BOS, 10, 11, 12], // [BOS, 13] is dropped
    ]);
  });

  it('adds no BOS where a document already starts with one (sampled stories)', () => {
    const contexts = chunkIntoContexts([[BOS, 5, 6], [BOS, 7, 8, 9]], { contextSize: 4, prependBos: true, bosId: BOS });
    expect(contexts).toEqual([
      [BOS, 5, 6, BOS],
      [BOS, 7, 8, 9], // the rest of the second story, with the context's own BOS
    ]);
  });

  it('without prependBos only separates documents', () => {
    const contexts = chunkIntoContexts([[5, 6, 7, 8], [9, 10]], { contextSize: 3, prependBos: false, bosId: BOS });
    expect(contexts).toEqual([
      [5, 6, 7],
      [8, BOS, 9],
    ]);
  });

  it('rejects a context size below 2', () => {
    expect(() => chunkIntoContexts([[5, 6]], { contextSize: 1, prependBos: true, bosId: BOS })).toThrow(InputError);
  });
});

describe('corpusHash', () => {
  it('is a stable sha256 over the ids that changes with any id or with the split into contexts', () => {
    const hash = corpusHash([[1, 2, 3, 4], [1, 5, 6, 7]]);
    expect(hash).toMatch(/^[0-9a-f]{64}$/);
    expect(corpusHash([[1, 2, 3, 4], [1, 5, 6, 7]])).toBe(hash);
    expect(corpusHash([[1, 2, 3, 4], [1, 5, 6, 8]])).not.toBe(hash);
    expect(corpusHash([[1, 2], [3, 4], [1, 5], [6, 7]])).not.toBe(hash);
  });
});

describe('parseCorpusFile', () => {
  it('reads plain text as one document per blank-line-separated block', async () => {
    const file = path.join(tmp, 'stories.txt');
    await fs.writeFile(file, 'First story.\nStill the first.\n\n  \nSecond story.\r\n\r\nThird.\n\n');
    expect(await parseCorpusFile(file)).toEqual([{ text: 'First story.\nStill the first.' }, { text: 'Second story.' }, { text: 'Third.' }]);
  });

  it('reads JSONL with a text field or token ids, skipping blank lines', async () => {
    const file = path.join(tmp, 'docs.jsonl');
    await fs.writeFile(file, '{"text": "Once upon a time", "id": 1}\n\n{"tokens": [1, 403, 407]}\n');
    expect(await parseCorpusFile(file)).toEqual([{ text: 'Once upon a time' }, { tokens: [1, 403, 407] }]);
  });

  it('names the line of malformed JSON', async () => {
    const file = path.join(tmp, 'broken.jsonl');
    await fs.writeFile(file, '{"text": "fine"}\n{"text": "also fine"}\n{"text": "unterminated\n');
    await expect(parseCorpusFile(file)).rejects.toThrow(InputError);
    await expect(parseCorpusFile(file)).rejects.toThrow(/broken\.jsonl, line 3: not valid JSON/);
  });

  it('names the line without a text field', async () => {
    const file = path.join(tmp, 'missing.jsonl');
    await fs.writeFile(file, '{"text": "fine"}\n{"body": "no text here"}\n');
    await expect(parseCorpusFile(file)).rejects.toThrow(/missing\.jsonl, line 2: expected an object with a "text" string/);
  });

  it('rejects bad token ids and a missing file', async () => {
    const file = path.join(tmp, 'ids.jsonl');
    await fs.writeFile(file, '{"tokens": [1, -2]}\n');
    await expect(parseCorpusFile(file)).rejects.toThrow(/line 1: "tokens" must be an array of non-negative integer/);
    await expect(parseCorpusFile(path.join(tmp, 'nope.txt'))).rejects.toThrow(/corpus file not found/);
  });
});

describe('tokenizeDocuments and buildCorpus', () => {
  it('encodes text without BOS and checks token ids against the vocabulary', () => {
    expect(tokenizeDocuments([{ text: 'Once upon a time' }, { tokens: [7, 8] }], model.tokenizer)).toEqual([[403, 407, 261, 378], [7, 8]]);
    expect(() => tokenizeDocuments([{ tokens: [1, 512] }], model.tokenizer)).toThrow(/document 1: token id 512 is outside the vocabulary 0..511/);
  });

  it('cuts a text file into BOS-prefixed contexts with a content hash', async () => {
    const corpus = await buildCorpus(model, { file: STORIES_FILE, contextSize: 64, prependBos: true, maxTokens: 640 });
    expect(corpus.contexts).toHaveLength(10);
    for (const context of corpus.contexts) {
      expect(context).toHaveLength(64);
      expect(context[0]).toBe(BOS);
    }
    expect(model.tokenizer.decode(corpus.contexts[0])).toMatch(/^Once upon a time, there was a little girl named Lily\./);
    expect(corpus.hash).toBe(corpusHash(corpus.contexts));
    expect(corpus.source).toBe('short-stories.txt');
  });
});

describe('sampleCorpus', () => {
  const options = { documents: 6, maxTokens: 40, seed: 3 };

  it('samples plausible stories from BOS, reproducibly per seed and whatever the batch size', async () => {
    const stories = await sampleCorpus(model, { ...options, batchSize: 6 });
    expect(stories).toHaveLength(6);
    for (const ids of stories) {
      expect(ids[0]).toBe(BOS);
      expect(ids.length).toBeGreaterThan(1);
      expect(ids.length).toBeLessThanOrEqual(40);
      // the story ends at BOS/EOS, so neither appears after the first position
      expect(ids.slice(1).every((id) => Number.isInteger(id) && id > 2 && id < 512)).toBe(true);
    }
    const texts = stories.map((ids) => model.tokenizer.decode(ids));
    for (const text of texts) expect(text).toMatch(/^[A-Z][a-z]*( [A-Za-z,.!?'"]+)+/); // words, as TinyStories are
    expect(new Set(texts.map((text) => text.slice(0, 40))).size).toBeGreaterThan(1);

    expect(await sampleCorpus(model, { ...options, batchSize: 4 })).toEqual(stories);
    expect(await sampleCorpus(model, { ...options, seed: 4, batchSize: 6 })).not.toEqual(stories);
  });

  it('stops at maxTokens and can stop early once enough tokens are sampled', async () => {
    const stories = await sampleCorpus(model, { documents: 8, maxTokens: 8, seed: 1, batchSize: 2, stopAfterTokens: 10 });
    expect(stories.length).toBeLessThan(8);
    expect(stories.every((ids) => ids.length <= 8)).toBe(true);
    expect(stories.reduce((sum, ids) => sum + ids.length, 0)).toBeGreaterThanOrEqual(10);
  });

  it('rejects documents longer than the model context', async () => {
    await expect(sampleCorpus(model, { documents: 1, maxTokens: 513, seed: 1 })).rejects.toThrow(/maxTokens must be an integer in 2..512/);
  });
});

import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { InputError } from '../errors';
import type { Tokenizer } from '../tokenizer/types';

/**
 * A corpus is a list of fixed-length contexts of token ids, cut from documents as SAELens cuts its training data
 * (`concat_and_batch_sequences` as the ActivationsStore calls it), so that activations match how an SAE was trained:
 * - every document is tokenized on its own (no BOS), then the documents are concatenated into one stream;
 * - with `prependBos`, each context starts with BOS (not added when the context already starts with one);
 * - a document that starts inside a context is preceded by a BOS separator (SAELens's default
 *   `sequence_separator_token: "bos"`), unless it already starts with BOS;
 * - a document longer than the room left continues in the next context; the last, partial context is dropped.
 */

export interface ContextOptions {
  /** tokens per context, BOS included */
  contextSize: number;
  /** start every context with BOS (SAELens `prepend_bos`) */
  prependBos: boolean;
  bosId: number;
}

/** One document of a corpus file: text to tokenize, or token ids given as they are. */
export type CorpusDocument = { text: string } | { tokens: number[] };

export function chunkIntoContexts(tokenStreams: number[][], { contextSize, prependBos, bosId }: ContextOptions): number[][] {
  if (!Number.isInteger(contextSize) || contextSize < 2) throw new InputError(`context size must be an integer ≥ 2, got ${contextSize}`);
  const contexts: number[][] = [];
  let current: number[] = [];
  for (const doc of tokenStreams) {
    let offset = 0;
    while (offset < doc.length) {
      const startsWithBos = doc[offset] === bosId;
      if (current.length === 0) {
        if (prependBos && !startsWithBos) current.push(bosId);
      } else if (offset === 0 && !startsWithBos) {
        current.push(bosId); // separator between documents
      }
      const take = Math.max(0, contextSize - current.length);
      current.push(...doc.slice(offset, offset + take));
      offset += take;
      if (current.length === contextSize) {
        contexts.push(current);
        current = [];
      }
    }
  }
  return contexts;
}

/**
 * Reads a corpus file. `.jsonl` / `.ndjson`: one JSON object per line with a `text` string or a `tokens` array of ids
 * (blank lines skipped). `.ids`: token ids, one document per line, separated by spaces or commas (blank lines
 * skipped). Anything else is plain UTF-8 text with one document per blank-line-separated block, e.g. a story per
 * paragraph; a file without blank lines is one document.
 */
export async function parseCorpusFile(file: string): Promise<CorpusDocument[]> {
  let content: string;
  try {
    content = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new InputError(`${file}: corpus file not found`);
    throw err;
  }
  const documents = /\.(jsonl|ndjson)$/i.test(file)
    ? parseJsonLines(content, file)
    : /\.ids$/i.test(file)
      ? parseIdLines(content, file)
      : parsePlainText(content);
  if (documents.length === 0) throw new InputError(`${file}: the corpus file holds no documents`);
  return documents;
}

function parsePlainText(content: string): CorpusDocument[] {
  return content
    .split(/\r?\n[ \t]*\r?\n/)
    .map((block) => block.trim())
    .filter((block) => block !== '')
    .map((text) => ({ text }));
}

function parseJsonLines(content: string, file: string): CorpusDocument[] {
  const documents: CorpusDocument[] = [];
  content.split('\n').forEach((line, index) => {
    if (line.trim() === '') return;
    const where = `${file}, line ${index + 1}`;
    let row: unknown;
    try {
      row = JSON.parse(line);
    } catch (err) {
      throw new InputError(`${where}: not valid JSON (${(err as Error).message})`);
    }
    const record = typeof row === 'object' && row !== null && !Array.isArray(row) ? (row as Record<string, unknown>) : {};
    if (typeof record.text === 'string') {
      documents.push({ text: record.text });
    } else if (Array.isArray(record.tokens)) {
      if (!record.tokens.every((id) => Number.isInteger(id) && id >= 0)) {
        throw new InputError(`${where}: "tokens" must be an array of non-negative integer token ids`);
      }
      documents.push({ tokens: record.tokens as number[] });
    } else {
      throw new InputError(`${where}: expected an object with a "text" string (or a "tokens" array of ids), got ${preview(line)}`);
    }
  });
  return documents;
}

function parseIdLines(content: string, file: string): CorpusDocument[] {
  const documents: CorpusDocument[] = [];
  content.split('\n').forEach((line, index) => {
    const parts = line.trim().split(/[\s,]+/).filter((part) => part !== '');
    if (parts.length === 0) return;
    const bad = parts.find((part) => !/^\d+$/.test(part));
    if (bad !== undefined) throw new InputError(`${file}, line ${index + 1}: "${preview(bad)}" is not a token id (non-negative integers, separated by spaces or commas)`);
    documents.push({ tokens: parts.map(Number) });
  });
  return documents;
}

function preview(line: string): string {
  const trimmed = line.trim();
  return trimmed.length > 60 ? `${trimmed.slice(0, 60)}…` : trimmed;
}

/** Token streams of corpus documents: text encoded without BOS (chunking adds it), token ids checked against the vocabulary. */
export function tokenizeDocuments(documents: CorpusDocument[], tokenizer: Tokenizer): number[][] {
  return documents.map((doc, index) => {
    if ('text' in doc) return tokenizer.encode(doc.text);
    const bad = doc.tokens.find((id) => id >= tokenizer.vocabSize);
    if (bad !== undefined) {
      throw new InputError(`document ${index + 1}: token id ${bad} is outside the vocabulary 0..${tokenizer.vocabSize - 1}`);
    }
    return doc.tokens;
  });
}

/**
 * Content hash of a corpus: sha256 (hex) over little-endian uint32 values — the context size, then every id of
 * every context in order. Equal contexts give equal hashes whatever produced them (file, sampling, import).
 */
export function corpusHash(contexts: number[][]): string {
  const hash = createHash('sha256');
  hash.update(new Uint8Array(Uint32Array.of(contexts[0]?.length ?? 0).buffer));
  for (const context of contexts) hash.update(new Uint8Array(Uint32Array.from(context).buffer));
  return hash.digest('hex');
}

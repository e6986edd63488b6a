/**
 * A model's token pieces (its vocabulary as pages show it), cached per model in this process: a model's vocabulary
 * changes only when its files do (the content hash).
 */
import { eq } from 'drizzle-orm';
import { modelVocabs } from '@/drizzle/schema';
import { InputError } from '@/compute/errors';
import { loadModelTokenizer } from '@/compute/tokenizer/load';
import type { Tokenizer } from '@/compute/tokenizer/types';
import type { Db } from './db';
import { badInput } from './errors';

/** Shared with ./feature-page, whose one statement reads a vocabulary along with the page when it is not cached. */
export const vocabCache = new Map<string, { contentHash: string; pieces: string[] }>();

function cachedVocabulary(modelSlug: string, contentHash: string): string[] | undefined {
  const entry = vocabCache.get(modelSlug);
  return entry && entry.contentHash === contentHash ? entry.pieces : undefined;
}

/** The model's token pieces (null when the model was registered before vocabularies were stored). */
export async function vocabulary(db: Db, modelId: string, modelSlug: string, contentHash: string): Promise<string[] | null> {
  const cached = cachedVocabulary(modelSlug, contentHash);
  if (cached) return cached;
  const row = await db.query.modelVocabs.findFirst({ where: eq(modelVocabs.modelId, modelId) });
  if (!row) return null;
  vocabCache.set(modelSlug, { contentHash: row.contentHash, pieces: row.pieces });
  return row.contentHash === contentHash ? row.pieces : null;
}

/**
 * A token given as an id or as its piece (exactly, or with the leading space a word in running text has). Bad input
 * when it is unknown.
 */
export function resolveToken(pieces: string[] | null, spec: string, vocabSize: number): number {
  const trimmed = spec.trim();
  if (/^\d+$/.test(trimmed)) {
    const id = Number(trimmed);
    if (id >= vocabSize) throw badInput(`token id ${id} is out of range: the vocabulary has ids 0..${vocabSize - 1}`);
    return id;
  }
  if (!pieces) throw badInput('this model has no stored vocabulary; give the token id');
  for (const candidate of [spec, ` ${trimmed}`, trimmed]) {
    const first = pieces.indexOf(candidate);
    if (first >= 0) return first;
  }
  throw badInput(`no token's piece is ${JSON.stringify(spec)}; give the token id instead`);
}

/** How many models' tokenizers this process keeps: each holds its whole vocabulary (GPT-2's: 50k pieces and ranks). */
const CACHED_TOKENIZERS = 4;
/** Tokenizers by model slug, least recently used first. */
const tokenizerCache = new Map<string, { contentHash: string; tokenizer: Promise<Tokenizer> }>();

/**
 * The model's tokenizer, read from its directory without the weights (the web process never loads a model), for
 * turning typed text into the model's tokens. Bad input when the directory's tokenizer cannot be read.
 */
export async function modelTokenizer(model: { slug: string; path: string; contentHash: string }): Promise<Tokenizer> {
  const cached = tokenizerCache.get(model.slug);
  tokenizerCache.delete(model.slug);
  if (cached && cached.contentHash === model.contentHash) {
    tokenizerCache.set(model.slug, cached);
    return cached.tokenizer;
  }
  const entry = { contentHash: model.contentHash, tokenizer: loadModelTokenizer(model.path) };
  tokenizerCache.set(model.slug, entry);
  if (tokenizerCache.size > CACHED_TOKENIZERS) tokenizerCache.delete(tokenizerCache.keys().next().value!);
  try {
    return await entry.tokenizer;
  } catch (err) {
    // not cached: the files may be fixed or restored
    if (tokenizerCache.get(model.slug) === entry) tokenizerCache.delete(model.slug);
    // the message names no server path; the cause has the file's problem
    if (err instanceof InputError) throw badInput(`the tokenizer files of model "${model.slug}" cannot be read, so text cannot be split into its tokens`, err);
    throw err;
  }
}

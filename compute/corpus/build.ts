import path from 'node:path';
import { InputError } from '../errors';
import type { LanguageModel } from '../model/types';
import { chunkIntoContexts, corpusHash, parseCorpusFile, tokenizeDocuments } from './contexts';
import { sampleCorpus } from './sample';

export interface BuildCorpusOptions {
  /** a corpus file (plain text or JSONL, see parseCorpusFile); without one, the corpus is sampled from the model */
  file?: string;
  contextSize: number;
  prependBos: boolean;
  /** keep at most this many tokens (whole contexts); a sampled corpus samples until it has them */
  maxTokens: number;
  /** sampling only */
  seed?: number;
  temperature?: number;
  onSampleProgress?: (progress: { documents: number; tokens: number }) => void;
}

export interface Corpus {
  contexts: number[][];
  /** corpusHash of the contexts */
  hash: string;
  /** tokens in the whole contexts of the file before maxTokens kept the first ones (a sampled corpus: the contexts' tokens) */
  availableTokens: number;
  /** where it came from, for SAELens `dataset_path` and provenance */
  source: string;
}

/** The corpus an SAE is trained or evaluated on: documents read or sampled, then cut into contexts. */
export async function buildCorpus(model: LanguageModel, options: BuildCorpusOptions): Promise<Corpus> {
  const { file, contextSize, prependBos, maxTokens, seed = 0, temperature = 1 } = options;
  if (contextSize > model.config.contextLength) {
    throw new InputError(`context size ${contextSize} exceeds the model's context length ${model.config.contextLength}`);
  }
  const wanted = Math.floor(maxTokens / contextSize);
  if (wanted < 1) throw new InputError(`${maxTokens} tokens do not fill one context of ${contextSize}`);

  let documents: number[][];
  let source: string;
  if (file) {
    documents = tokenizeDocuments(await parseCorpusFile(file), model.tokenizer);
    source = path.basename(file);
  } else {
    documents = await sampleCorpus(model, {
      // every document holds at least one token, so this bound is never what stops sampling
      documents: maxTokens,
      maxTokens: contextSize,
      seed,
      temperature,
      // chunking only adds tokens (BOS), so this many fill the wanted contexts
      stopAfterTokens: maxTokens,
      onProgress: options.onSampleProgress,
    });
    source = `sampled from the model (seed ${seed}, temperature ${temperature}, up to ${contextSize} tokens per document)`;
  }
  const all = chunkIntoContexts(documents, { contextSize, prependBos, bosId: model.tokenizer.bosId });
  const contexts = all.slice(0, wanted);
  if (contexts.length === 0) throw new InputError(`the corpus holds fewer than ${contextSize} tokens, not one full context`);
  // sampling stops at maxTokens: what it samples beyond the last whole context is no part of the corpus
  const availableTokens = (file ? all.length : contexts.length) * contextSize;
  return { contexts, hash: corpusHash(contexts), source, availableTokens };
}

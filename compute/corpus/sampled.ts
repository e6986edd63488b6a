import { InputError } from '../errors';
import type { LanguageModel } from '../model/types';
import { chunkIntoContexts } from './contexts';
import { sampleCorpus } from './sample';

export interface SampledCorpusOptions {
  /** documents to sample at most */
  documents: number;
  /** tokens to keep (whole contexts); sampling stops once the documents hold this many */
  maxTokens: number;
  /** longest document, BOS included */
  documentTokens: number;
  contextSize: number;
  prependBos: boolean;
  seed: number;
  temperature: number;
  /** called after every sampling step */
  onProgress?: (progress: { documents: number; tokens: number }) => void;
}

export interface SampledCorpus {
  contexts: number[][];
  documents: number;
  /** provenance, stored as the corpus's source */
  source: { kind: 'sampled'; seed: number; temperature: number; documentTokens: number; documents: number; maxTokens: number };
}

/**
 * A corpus sampled from the model (seeded; sampleCorpus), cut into contexts as SAELens cuts a dataset
 * (chunkIntoContexts): documents are stories starting at BOS, so a context's BOS doubles as a document separator.
 */
export async function sampleModelCorpus(model: LanguageModel, options: SampledCorpusOptions): Promise<SampledCorpus> {
  const { documents, maxTokens, documentTokens, contextSize, prependBos, seed, temperature } = options;
  const limit = model.config.contextLength;
  if (contextSize > limit) throw new InputError(`context size ${contextSize} exceeds the model's context length ${limit}`);
  if (documentTokens > limit) throw new InputError(`documents of ${documentTokens} tokens exceed the model's context length ${limit}`);
  if (maxTokens < contextSize) throw new InputError(`${maxTokens} tokens do not fill one context of ${contextSize}`);
  const sampled = await sampleCorpus(model, {
    documents,
    maxTokens: documentTokens,
    seed,
    temperature,
    batchSize: 64,
    // chunking only adds tokens (separators), so this many fill the wanted contexts
    stopAfterTokens: maxTokens,
    onProgress: options.onProgress,
  });
  const contexts = chunkIntoContexts(sampled, { contextSize, prependBos, bosId: model.tokenizer.bosId }).slice(0, Math.floor(maxTokens / contextSize));
  if (contexts.length === 0) throw new InputError(`the sampled documents hold fewer than ${contextSize} tokens, not one full context`);
  return {
    contexts,
    documents: sampled.length,
    source: { kind: 'sampled', seed, temperature, documentTokens, documents: sampled.length, maxTokens },
  };
}

import { InputError } from '../errors';
import type { LanguageModel } from '../model/types';
import { deriveSeed, sampleToken, seededRandom } from '../random';

/**
 * A corpus sampled from the model itself, for models whose training data is not at hand (stories260K: TinyStories
 * cannot be downloaded here). Each document starts at BOS and ends when the model emits BOS or EOS (llama2.c
 * stories end with BOS) or reaches `maxTokens`.
 *
 * Reproducible: document i draws from its own mulberry32 stream seeded by (seed, i), so it does not depend on the
 * batch size or on when other documents in its batch ended.
 *
 * Cost: with the model's key/value-cache decoder a document of T tokens costs T token-forwards.
 */

export interface SampleCorpusOptions {
  /** documents to sample (with `stopAfterTokens`: at most this many) */
  documents: number;
  /** longest document, BOS included; at most the model's context length */
  maxTokens: number;
  seed: number;
  /** softmax temperature; 0 takes the most likely token */
  temperature?: number;
  /** documents sampled together in one forward pass */
  batchSize?: number;
  /**
   * Start no further batch once the documents so far hold this many tokens. Whole batches are kept, so how many
   * documents come back depends on batchSize; each document does not.
   */
  stopAfterTokens?: number;
  /** called after every step: documents finished so far, and tokens sampled so far (finished or not) */
  onProgress?: (progress: { documents: number; tokens: number }) => void;
}

export async function sampleCorpus(model: LanguageModel, options: SampleCorpusOptions): Promise<number[][]> {
  const { documents, maxTokens, seed, temperature = 1, batchSize = 32, stopAfterTokens = Infinity, onProgress } = options;
  const { bosId, eosId } = model.tokenizer;
  if (!Number.isInteger(documents) || documents < 1) throw new InputError(`documents must be a positive integer, got ${documents}`);
  if (!Number.isInteger(maxTokens) || maxTokens < 2 || maxTokens > model.config.contextLength) {
    throw new InputError(`maxTokens must be an integer in 2..${model.config.contextLength} (the model's context), got ${maxTokens}`);
  }
  if (!(temperature >= 0)) throw new InputError(`temperature must be ≥ 0, got ${temperature}`);

  const sampled: number[][] = [];
  let tokens = 0;
  for (let first = 0; first < documents && tokens < stopAfterTokens; first += batchSize) {
    const count = Math.min(batchSize, documents - first);
    let active = Array.from({ length: count }, (_, i) => ({
      index: first + i,
      ids: [bosId],
      random: seededRandom(deriveSeed(seed, first + i)),
    }));
    const finished: typeof active = [];
    const decoder = model.decoder();
    try {
      while (active.length > 0) {
        // each row feeds only its newest token; the decoder's cache holds the rest
        const logits = decoder.step(active.map((doc) => doc.ids[doc.ids.length - 1]));
        const vocab = logits.length / active.length;
        const continuing: typeof active = [];
        const kept: number[] = [];
        for (const [row, doc] of active.entries()) {
          const next = sampleToken(logits.subarray(row * vocab, (row + 1) * vocab), temperature, doc.random);
          const ended = next === bosId || next === eosId;
          if (!ended) doc.ids.push(next);
          if (ended || doc.ids.length === maxTokens) {
            finished.push(doc);
          } else {
            continuing.push(doc);
            kept.push(row);
          }
        }
        if (continuing.length > 0 && continuing.length < active.length) decoder.select(kept);
        active = continuing;
        const sampledSoFar = [...finished, ...active].reduce((sum, doc) => sum + doc.ids.length, tokens);
        onProgress?.({ documents: sampled.length + finished.length, tokens: sampledSoFar });
        // let the event loop run (progress output, job heartbeats) between forward passes
        await new Promise((resolve) => setImmediate(resolve));
      }
    } finally {
      decoder.dispose();
    }
    sampled.push(...finished.sort((a, b) => a.index - b.index).map((doc) => doc.ids));
    tokens += finished.reduce((sum, doc) => sum + doc.ids.length, 0);
  }
  return sampled;
}

/**
 * The real stories260K model with the fixture SAE (slug `l2`), and its dashboards over the short-stories corpus
 * (contexts of 64 with BOS), computed in this process as the dashboards job computes them.
 */
import path from 'node:path';
import { storeCorpus } from '@/server/corpora';
import type { Db } from '@/server/db';
import { jobKinds } from '@/jobs';
import { registerModel } from '@/server/register-models';
import { registerSae } from '@/server/register-saes';
import { chunkIntoContexts, parseCorpusFile, tokenizeDocuments } from '@/compute/corpus/contexts';
import { computeAndStoreDashboards } from '@/worker/jobs/dashboards';
import { getModel, getSae } from '@/worker/model-cache';
import { FIXTURES_DIR, STORIES_DIR } from '../shared';

export const STORIES_SAE_DIR = path.join(FIXTURES_DIR, 'sae-stories260K-l2-standard');
const CORPUS_FILE = path.resolve(import.meta.dirname, '../unit/fixtures/short-stories.txt');

/** The model and SAE registered, and the corpus stored, without dashboards yet. */
export async function seedStoriesCorpus(db: Db) {
  const modelRow = await registerModel(db, STORIES_DIR);
  const saeRow = await registerSae(db, modelRow, STORIES_SAE_DIR, { slug: 'l2' });
  const model = await getModel(modelRow.path, modelRow.contentHash);
  const contextSize = 64;
  const contexts = chunkIntoContexts(tokenizeDocuments(await parseCorpusFile(CORPUS_FILE), model.tokenizer), {
    contextSize,
    prependBos: true,
    bosId: model.tokenizer.bosId,
  });
  const corpus = await storeCorpus({ modelId: modelRow.id, name: 'short stories', contexts, contextSize, prependBos: true, source: { file: CORPUS_FILE } });
  return { modelRow, saeRow, corpus, model };
}

export async function seedStoriesDashboards(db: Db) {
  const { modelRow, saeRow, corpus, model } = await seedStoriesCorpus(db);
  await computeAndStoreDashboards({
    db,
    model,
    sae: await getSae(saeRow.path, saeRow.contentHash, model),
    modelRow,
    saeRow,
    corpus,
    params: jobKinds.dashboards.params.parse({ saeId: saeRow.id, corpusId: corpus.id }),
    jobId: null,
  });
  return { modelRow, saeRow, corpus };
}

/**
 * Importing a corpus file (plain text, JSONL with `text` or `tokens`, or `.ids` token ids) for a registered model:
 * tokenized with the model's tokenizer, cut into fixed-length contexts as the SAEs were trained (context size and
 * BOS from an SAE's cfg unless given), stored with its content hash. Nothing is stored unless the whole file is good.
 */
import path from 'node:path';
import { initBackend } from '@/compute/backend';
import { chunkIntoContexts, parseCorpusFile, tokenizeDocuments } from '@/compute/corpus/contexts';
import { InputError } from '@/compute/errors';
import { loadModel } from '@/compute/model/load';
import { parseSaeConfig } from '@/compute/sae/config';
import { storeCorpus, type CorpusRow } from './corpora';
import type { Db } from './db';
import type { ModelRow } from './models';
import { getSaeBySlug, listSaes } from './saes';

/** Context size when neither the command nor an SAE says (SAELens's common choice; capped at the model's context). */
export const DEFAULT_CONTEXT_SIZE = 128;

export interface ImportCorpusOptions {
  /** tokens per context, BOS included (default: the SAE's context_size) */
  contextSize?: number;
  /** start every context with BOS (default: the SAE's prepend_bos, else true) */
  prependBos?: boolean;
  /** the SAE whose cfg gives the defaults (default: the model's SAEs, when they agree) */
  saeSlug?: string;
  name?: string;
}

/** The context size and BOS convention a corpus for this model should use, and which SAE said so. */
export async function corpusConventions(
  db: Db,
  model: ModelRow,
  options: Pick<ImportCorpusOptions, 'contextSize' | 'prependBos' | 'saeSlug'>,
): Promise<{ contextSize: number; prependBos: boolean; from: string }> {
  let fromSae: { contextSize: number | null; prependBos: boolean; slug: string } | undefined;
  if (options.saeSlug) {
    const sae = await getSaeBySlug(db, model.id, options.saeSlug);
    if (!sae) throw new InputError(`no SAE "${options.saeSlug}" is registered under ${model.slug}`);
    const cfg = parseSaeConfig(sae.cfg);
    fromSae = { contextSize: cfg.contextSize, prependBos: cfg.prependBos, slug: sae.slug };
  } else {
    const conventions = (await listSaes(db, model.id)).map((sae) => {
      const cfg = parseSaeConfig(sae.cfg);
      return { contextSize: cfg.contextSize, prependBos: cfg.prependBos, slug: sae.slug };
    });
    const first = conventions[0];
    if (first && conventions.every((c) => c.contextSize === first.contextSize && c.prependBos === first.prependBos)) fromSae = first;
  }
  const modelContext = (model.config as { contextLength: number }).contextLength;
  const contextSize = options.contextSize ?? fromSae?.contextSize ?? Math.min(DEFAULT_CONTEXT_SIZE, modelContext);
  if (contextSize > modelContext) throw new InputError(`context size ${contextSize} exceeds ${model.slug}'s context length ${modelContext}`);
  const prependBos = options.prependBos ?? fromSae?.prependBos ?? true;
  const from =
    options.contextSize !== undefined && options.prependBos !== undefined ? 'the command line' : fromSae ? `SAE ${model.slug}/${fromSae.slug}` : 'the defaults';
  return { contextSize, prependBos, from };
}

export async function importCorpusFile(db: Db, model: ModelRow, file: string, options: ImportCorpusOptions = {}): Promise<CorpusRow> {
  const { contextSize, prependBos } = await corpusConventions(db, model, options);
  const documents = await parseCorpusFile(file);
  await initBackend();
  const lm = await loadModel(model.path);
  try {
    const contexts = chunkIntoContexts(tokenizeDocuments(documents, lm.tokenizer), { contextSize, prependBos, bosId: lm.tokenizer.bosId });
    if (contexts.length === 0) throw new InputError(`${file}: the corpus holds fewer tokens than one context of ${contextSize}`);
    return await storeCorpus({
      modelId: model.id,
      name: options.name ?? path.basename(file),
      contexts,
      contextSize,
      prependBos,
      source: { kind: 'file', file: path.basename(file), documents: documents.length },
    });
  } finally {
    lm.dispose();
  }
}

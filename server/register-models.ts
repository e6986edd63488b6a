/** Models on disk, registered by slug: at start from LEXICON_MODELS_DIR, or by `lexicon model add DIR`. */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { sql } from 'drizzle-orm';
import { models, modelVocabs } from '@/drizzle/schema';
import { initBackend } from '@/compute/backend';
import { loadModel } from '@/compute/model/load';
import { RESERVED_MODEL_SLUGS, SLUG } from './addresses';
import type { Db } from './db';
import type { ModelRow } from './models';

/** sha256 over every file of the directory (name and bytes), in name order. */
export async function hashDirectory(dir: string): Promise<string> {
  const hash = createHash('sha256');
  const files = fs
    .readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isFile() && !e.name.startsWith('.') && !e.name.endsWith('.md'))
    .map((e) => e.name)
    .sort();
  for (const name of files) {
    hash.update(name);
    for await (const chunk of fs.createReadStream(path.join(dir, name))) hash.update(chunk as Buffer);
  }
  return hash.digest('hex');
}

export async function registerModel(db: Db, dir: string, options: { slug?: string } = {}): Promise<ModelRow> {
  const absolute = path.resolve(dir);
  const slug = options.slug ?? path.basename(absolute);
  if (!SLUG.test(slug)) throw new Error(`model slug "${slug}" may only use letters, digits, '.', '_' and '-'`);
  if (RESERVED_MODEL_SLUGS.has(slug)) throw new Error(`model slug "${slug}" names one of Lexicon's own pages or API routes (/${slug}, /api/v1/${slug}): register the model under another (\`lexicon model add DIR --slug NAME\`)`);
  await initBackend();
  // Loading validates the files and reports the architecture's shape and hook names.
  const model = await loadModel(absolute);
  const config = { ...model.config, hookNames: [...model.hookNames] };
  const pieces = vocabularyPieces(model.tokenizer, model.config.vocabSize);
  model.dispose();
  const values = {
    slug,
    architecture: model.config.architecture,
    path: absolute,
    config,
    contentHash: await hashDirectory(absolute),
  };
  return db.transaction(async (tx) => {
    const [row] = await tx
      .insert(models)
      .values(values)
      .onConflictDoUpdate({ target: models.slug, set: values })
      .returning();
    // The web tier shows token strings from this (it has no tokenizer); rewritten only when the files changed.
    const vocab = { modelId: row!.id, contentHash: row!.contentHash, pieces };
    await tx
      .insert(modelVocabs)
      .values(vocab)
      .onConflictDoUpdate({ target: modelVocabs.modelId, set: vocab, setWhere: sql`${modelVocabs.contentHash} <> excluded.content_hash` });
    return row!;
  });
}

/**
 * Every token's display piece, for ids 0..size−1 (the model's vocabulary: ids past the tokenizer's, if any, show as
 * <id>). PostgreSQL text cannot hold NUL, so it is shown as ␀.
 */
export function vocabularyPieces(tokenizer: { vocabSize: number; piece(id: number): string }, size = tokenizer.vocabSize): string[] {
  return Array.from({ length: size }, (_, id) => {
    if (id >= tokenizer.vocabSize) return `<${id}>`;
    return tokenizer.piece(id).replace(/\0/g, '␀');
  });
}

/** Registers every model directory directly under `root`; a broken one is reported and skipped. */
export async function registerModelsIn(db: Db, root: string): Promise<ModelRow[]> {
  if (!fs.existsSync(root)) return [];
  const registered: ModelRow[] = [];
  for (const entry of fs.readdirSync(root, { withFileTypes: true })) {
    if (!entry.isDirectory() || entry.name.startsWith('.')) continue;
    try {
      registered.push(await registerModel(db, path.join(root, entry.name)));
    } catch (err) {
      console.error(`[models] skipped ${entry.name}: ${(err as Error).message}`);
    }
  }
  return registered;
}

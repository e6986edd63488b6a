/**
 * SAEs on disk (SAELens directories), registered under a model: validated against the model and
 * checked on import (docs/compute.md#import-check) before anything is stored.
 */
import fs from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { saes } from '@/drizzle/schema';
import { collectHookActivations } from '@/compute/analyses/activations-at-hook';
import { initBackend } from '@/compute/backend';
import { sampleCorpus } from '@/compute/corpus/sample';
import { InputError } from '@/compute/errors';
import { loadModel } from '@/compute/model/load';
import { importCheck, type ImportCheckResult } from '@/compute/sae/import-check';
import { loadSae, validateSaeForModel } from '@/compute/sae/load';
import { SLUG } from './addresses';
import type { Db } from './db';
import type { ModelRow } from './models';
import { hashDirectory } from './register-models';

import type { SaeRow } from './saes';

/** Tokens sampled from the model for the import check: enough to tell a wrong convention apart. */
const CHECK_DOCUMENTS = 8;
const CHECK_TOKENS = 96;

/** `blocks.6.hook_resid_pre` → `6-res-pre`: layer, then the kind of hook (Neuronpedia's style). */
export function defaultSaeSlug(hookName: string): string {
  const match = /^blocks\.(\d+)\.(.+)$/.exec(hookName);
  if (!match) return hookName.replace(/[^A-Za-z0-9]+/g, '-');
  const kinds: Record<string, string> = {
    hook_resid_pre: 'res-pre',
    hook_resid_mid: 'res-mid',
    hook_resid_post: 'res',
    hook_attn_out: 'att',
    hook_mlp_out: 'mlp-out',
    'mlp.hook_post': 'mlp',
    'mlp.hook_pre': 'mlp-pre',
  };
  return `${match[1]}-${kinds[match[2]!] ?? match[2]!.replace(/[^A-Za-z0-9]+/g, '-')}`;
}

/** A slug names a directory too (trained SAEs), so it is checked before anything is written. */
export function checkSaeSlug(slug: string): void {
  if (!SLUG.test(slug)) throw new InputError(`SAE slug "${slug}" may only use letters, digits, '.', '_' and '-'`);
}

export async function registerSae(db: Db, model: ModelRow, dir: string, options: { slug?: string } = {}): Promise<SaeRow> {
  const absolute = path.resolve(dir);
  if (!fs.existsSync(path.join(absolute, 'cfg.json'))) throw new InputError(`${absolute} has no cfg.json: not an SAELens directory`);
  await initBackend();
  const lm = await loadModel(model.path);
  const sae = await loadSae(absolute);
  try {
    validateSaeForModel(sae, { ...lm.config, hookNames: lm.hookNames });
    const slug = options.slug ?? defaultSaeSlug(sae.cfg.hookName);
    checkSaeSlug(slug);
    const check = await runImportCheck(lm, sae);
    for (const warning of check.warnings) console.warn(`[sae] ${model.slug}/${slug}: ${warning}`);
    const values = {
      modelId: model.id,
      slug,
      hookName: sae.cfg.hookName,
      architecture: sae.cfg.architecture,
      dIn: sae.dIn,
      dSae: sae.dSae,
      cfg: sae.cfg.raw as object,
      path: absolute,
      contentHash: await hashDirectory(absolute),
      importCheck: check,
    };
    const [row] = await db
      .insert(saes)
      .values(values)
      .onConflictDoUpdate({ target: [saes.modelId, saes.slug], set: values })
      .returning();
    return row!;
  } finally {
    sae.dispose();
    lm.dispose();
  }
}

async function runImportCheck(
  lm: Awaited<ReturnType<typeof loadModel>>,
  sae: Awaited<ReturnType<typeof loadSae>>,
): Promise<ImportCheckResult> {
  const contexts = await sampleCorpus(lm, {
    documents: CHECK_DOCUMENTS,
    maxTokens: Math.min(CHECK_TOKENS, lm.config.contextLength),
    seed: 0,
  });
  const activations = async (hook: string, width: number) => {
    const rows: Float32Array[] = [];
    for await (const batch of collectHookActivations(lm, contexts, hook)) rows.push(batch);
    const n = rows.reduce((sum, r) => sum + r.length, 0) / width;
    const data = new Float32Array(n * width);
    let offset = 0;
    for (const r of rows) {
      data.set(r, offset);
      offset += r.length;
    }
    return tf.tensor2d(data, [n, width]);
  };
  const X = await activations(sae.cfg.hookName, sae.dIn);
  // a transcoder is scored against what it stands in for: the activations at its output hook
  const Y = sae.cfg.hookNameOut === sae.cfg.hookName ? undefined : await activations(sae.cfg.hookNameOut, sae.cfg.dOut);
  try {
    return importCheck(X, sae, Y);
  } finally {
    tf.dispose([X, ...(Y ? [Y] : [])]);
  }
}

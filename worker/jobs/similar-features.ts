/**
 * The similar-feature sets a whole-SAE dashboard run computes (docs/compute.md#similar-features): within the SAE by
 * decoder and by encoder, and by decoder against the other SAEs of the model with the same d_in, nearest layers first,
 * at most MAX_OTHER_SAES of them. Against another SAE both directions come from the same blocks, so the other SAE's
 * neighbours in this one are brought up to date too.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Db } from '@/server/db';
import { listSaes, type SaeRow } from '@/server/saes';
import type { NeighbourSet } from '@/server/similar-features';
import { cosineNeighbours, nearestLayersFirst } from '@/compute/analyses/similar-features';
import { InputError } from '@/compute/errors';
import { loadSae } from '@/compute/sae/load';
import type { Sae } from '@/compute/sae/sae';

/** Other SAEs a run compares with: each is loaded and compared in turn, the nearest layers first. */
const MAX_OTHER_SAES = 4;

export interface SimilarFeaturesInput {
  db: Db;
  sae: Sae;
  saeRow: SaeRow;
  signal?: AbortSignal;
  /** rows compared so far, of all the sets together; awaited */
  onProgress?: (done: number, total: number) => void | Promise<void>;
}

/** The other SAEs a run compares this one with: same model and d_in, nearest layers first, at most MAX_OTHER_SAES. */
async function comparedSaes(db: Db, saeRow: SaeRow): Promise<SaeRow[]> {
  const candidates = (await listSaes(db, saeRow.modelId)).filter((s) => s.id !== saeRow.id && s.dIn === saeRow.dIn);
  return nearestLayersFirst(saeRow.hookName, candidates).slice(0, MAX_OTHER_SAES);
}

export async function computeSimilarFeatures(input: SimilarFeaturesInput): Promise<NeighbourSet[]> {
  const { db, sae, saeRow, signal } = input;
  const others = await comparedSaes(db, saeRow);
  const total = sae.dSae * (2 + others.length);
  let before = 0;
  const progress = async (done: number, rows: number) => {
    signal?.throwIfAborted();
    await input.onProgress?.(before + done, total);
    if (done === rows) before += rows;
  };
  await input.onProgress?.(0, total);
  const { W_dec, W_enc } = sae.weights;
  const sets: NeighbourSet[] = [];
  const own = (kind: NeighbourSet['kind'], neighbours: NeighbourSet['neighbours']) => sets.push({ saeId: saeRow.id, otherSaeId: saeRow.id, kind, neighbours });
  own('decoder', (await cosineNeighbours(W_dec, null, { onProgress: progress })).ofA);
  const encoderColumns = tf.transpose(W_enc);
  try {
    own('encoder', (await cosineNeighbours(encoderColumns, null, { onProgress: progress })).ofA);
  } finally {
    encoderColumns.dispose();
  }
  for (const row of others) {
    const other = await loadSae(row.path).catch((err: Error) => {
      throw new InputError(`similar features: SAE "${row.slug}" of this model, compared by decoder, could not be loaded: ${err.message}`);
    });
    try {
      // a transcoder's decoder writes elsewhere: only decoders of one width are compared
      if (other.weights.W_dec.shape[1] !== W_dec.shape[1]) {
        before += sae.dSae;
        continue;
      }
      const { ofA, ofB } = await cosineNeighbours(W_dec, other.weights.W_dec, { reverse: true, onProgress: progress });
      sets.push({ saeId: saeRow.id, otherSaeId: row.id, kind: 'decoder', neighbours: ofA });
      sets.push({ saeId: row.id, otherSaeId: saeRow.id, kind: 'decoder', neighbours: ofB! });
    } finally {
      other.dispose();
    }
  }
  return sets;
}

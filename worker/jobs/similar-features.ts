/**
 * The similar-feature sets a whole-SAE dashboard run computes (docs/compute.md#similar-features): within the SAE by
 * decoder and by encoder, and by decoder against the other SAEs of the model with the same d_in, nearest layers first,
 * at most MAX_OTHER_SAES of them. Against another SAE both directions come from the same blocks, so the other SAE's
 * neighbours in this one are brought up to date too. An SAE whose files cannot be read takes part through the decoder
 * rows an import stored (server/sae-decoder.ts): by decoder only, within itself and against the others.
 */
import * as tf from '@tensorflow/tfjs-core';
import { withTransaction, type Db } from '@/server/db';
import { storedDecoder } from '@/server/sae-decoder';
import { listSaes, type SaeRow } from '@/server/saes';
import { replaceNeighbourSets, type NeighbourSet } from '@/server/similar-features';
import { cosineNeighbours, nearestLayersFirst } from '@/compute/analyses/similar-features';
import { InputError } from '@/compute/errors';
import { loadSae } from '@/compute/sae/load';

/** Other SAEs a run compares with: each is loaded and compared in turn, the nearest layers first. */
const MAX_OTHER_SAES = 4;

export interface SimilarFeaturesInput {
  db: Db;
  /** the SAE's decoder rows [d_sae, d_out], and its encoder [d_in, d_sae] when known */
  weights: { W_dec: tf.Tensor2D; W_enc: tf.Tensor2D | null };
  saeRow: SaeRow;
  signal?: AbortSignal;
  /** leave out the other SAEs whose decoder can be read neither from files nor from stored rows (else: fail) */
  skipUnreadable?: boolean;
  /** rows compared so far, of all the sets together; awaited */
  onProgress?: (done: number, total: number) => void | Promise<void>;
}

/** The other SAEs a run compares this one with: same model and d_in, nearest layers first, at most MAX_OTHER_SAES. */
async function comparedSaes(db: Db, saeRow: SaeRow): Promise<SaeRow[]> {
  const candidates = (await listSaes(db, saeRow.modelId)).filter((s) => s.id !== saeRow.id && s.dIn === saeRow.dIn);
  return nearestLayersFirst(saeRow.hookName, candidates).slice(0, MAX_OTHER_SAES);
}

export async function computeSimilarFeatures(input: SimilarFeaturesInput): Promise<NeighbourSet[]> {
  const { db, saeRow, signal } = input;
  const { W_dec, W_enc } = input.weights;
  const dSae = W_dec.shape[0];
  const others = await comparedSaes(db, saeRow);
  const total = dSae * ((W_enc ? 2 : 1) + others.length);
  let before = 0;
  const progress = async (done: number, rows: number) => {
    signal?.throwIfAborted();
    await input.onProgress?.(before + done, total);
    if (done === rows) before += rows;
  };
  await input.onProgress?.(0, total);
  const sets: NeighbourSet[] = [];
  const own = (kind: NeighbourSet['kind'], neighbours: NeighbourSet['neighbours']) => sets.push({ saeId: saeRow.id, otherSaeId: saeRow.id, kind, neighbours });
  own('decoder', (await cosineNeighbours(W_dec, null, { onProgress: progress })).ofA);
  if (W_enc) {
    const encoderColumns = tf.transpose(W_enc);
    try {
      own('encoder', (await cosineNeighbours(encoderColumns, null, { onProgress: progress })).ofA);
    } finally {
      encoderColumns.dispose();
    }
  }
  for (const row of others) {
    const other = await decoderOf(db, row, input.skipUnreadable ?? false);
    if (!other) {
      before += dSae;
      continue;
    }
    try {
      // a transcoder's decoder writes elsewhere: only decoders of one width are compared
      if (other.shape[1] !== W_dec.shape[1]) {
        before += dSae;
        continue;
      }
      const { ofA, ofB } = await cosineNeighbours(W_dec, other, { reverse: true, onProgress: progress });
      sets.push({ saeId: saeRow.id, otherSaeId: row.id, kind: 'decoder', neighbours: ofA });
      sets.push({ saeId: row.id, otherSaeId: saeRow.id, kind: 'decoder', neighbours: ofB! });
    } finally {
      other.dispose();
    }
  }
  return sets;
}

/** Another SAE's decoder: from its files, else from the rows an import stored; null when neither and `skip`. */
async function decoderOf(db: Db, row: SaeRow, skip: boolean): Promise<tf.Tensor2D | null> {
  let loadError: Error;
  try {
    const sae = await loadSae(row.path);
    const { W_dec } = sae.weights;
    // kept past the SAE's other tensors
    const kept = tf.clone(W_dec);
    sae.dispose();
    return kept;
  } catch (err) {
    loadError = err as Error;
  }
  const stored = await storedDecoder(db, row);
  if (!stored && skip) return null;
  if (!stored) throw new InputError(`similar features: SAE "${row.slug}" of this model, compared by decoder, could not be loaded: ${loadError.message}`);
  return tf.tensor2d(stored.values, [row.dSae, stored.width]);
}

/**
 * The neighbour sets of an SAE known only by the decoder rows an import stored, computed and stored (replacing the
 * earlier ones); false when not every feature has a stored row.
 */
export async function storeDecoderNeighbours(db: Db, saeRow: SaeRow, onProgress?: SimilarFeaturesInput['onProgress']): Promise<boolean> {
  const stored = await storedDecoder(db, saeRow);
  if (!stored) return false;
  const W_dec = tf.tensor2d(stored.values, [saeRow.dSae, stored.width]);
  try {
    // an import must not fail for another SAE whose files are elsewhere
    const sets = await computeSimilarFeatures({ db, weights: { W_dec, W_enc: null }, saeRow, skipUnreadable: true, onProgress });
    await withTransaction((tx) => replaceNeighbourSets(tx, sets));
    return true;
  } finally {
    W_dec.dispose();
  }
}

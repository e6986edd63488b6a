import * as tf from '@tensorflow/tfjs-core';
import { InputError } from '../errors';
import type { LanguageModel } from '../model/types';
import type { Sae } from '../sae/sae';
import { inputHook, tokenRows } from '../sae/site';
import { checkFeatures, checkSaeForModel, checkTokens, numbers, tidyData } from './common';

/**
 * Direct feature attribution (DFA) of a hook_z SAE feature, as SAEDashboard shows it: which source positions the
 * feature reads from. At destination position t, z[t, h] = Σ_s pattern[h, t, s]·v[s, h], and the feature's
 * pre-activation is linear in z, so it splits exactly over source positions:
 *   sources[s] = Σ_h pattern[h, t, s] · (v[s, h] · W_enc[h's d_head slice, f])
 *   pre[t, f]  = Σ_s sources[s] + bias,   bias = b_enc[f] − b_dec·W_enc[:, f] (b_dec only when subtracted from the input)
 */

export interface FeatureAttribution {
  tokens: number[];
  pieces: string[];
  feature: number;
  /** the destination position analysed: the one asked for, else where the feature is largest */
  position: number;
  /** the feature's activation and pre-activation there */
  act: number;
  pre: number;
  /** what no source position contributes: b_enc[f], less b_dec·W_enc[:, f] when b_dec is subtracted from the input */
  bias: number;
  /** each source position's contribution to `pre`, for s = 0..position */
  sources: number[];
}

/** DFA of `feature` at `position` (default: its largest activation) of one token sequence; hook_z SAEs only. */
export function directFeatureAttribution(
  model: LanguageModel,
  sae: Sae,
  ids: number[],
  feature: number,
  position?: number,
): FeatureAttribution {
  checkSaeForModel(model, sae);
  checkTokens(model, ids);
  checkFeatures(sae, [feature]);
  const hook = inputHook(sae);
  const layer = /^blocks\.(\d+)\.attn\.hook_z$/.exec(hook);
  if (!layer || sae.cfg.reshapeActivations !== 'hook_z') {
    throw new InputError(`direct feature attribution needs an SAE on attn.hook_z (reshape_activations "hook_z"); this one reads ${hook}`);
  }
  if (sae.cfg.normalizeActivations !== 'none' || sae.cfg.architecture === 'gated') {
    // the split over sources needs the pre-activation to be linear in z, through W_enc
    throw new InputError(`direct feature attribution needs a linear encoder input; this SAE normalises its input (${sae.cfg.normalizeActivations}) or is gated`);
  }
  if (position !== undefined && !(Number.isInteger(position) && position >= 0 && position < ids.length)) {
    throw new InputError(`position ${position} is out of range: the input has positions 0..${ids.length - 1}`);
  }
  const { nHeads, nKvHeads, dModel } = model.config;
  const dHead = dModel / nHeads;
  const at = (name: string) => `blocks.${layer[1]}.attn.${name}`;

  return tidyData(() => {
    const { cache } = model.forward([ids], { capture: [at('hook_v'), at('hook_pattern'), hook], stopAt: hook });
    try {
      const [v, pattern, z] = [at('hook_v'), at('hook_pattern'), hook].map((name) => cache.get(name)!);
      const column = tf.slice(sae.weights.W_enc, [0, feature], [-1, 1]); // [d_in, 1]
      const bEnc = tf.slice(sae.weights.b_enc!, [feature], [1]);
      const saeIn = sae.encoderInput(tokenRows(z));
      const pres = numbers(tf.add(tf.matMul(saeIn, column), bEnc));
      const acts = numbers(tf.gather(sae.encode(tokenRows(z)), [feature], 1));
      const t = position ?? acts.indexOf(Math.max(...acts));
      // each query head reads kv head ⌊h / group⌋ (grouped-query attention; GPT-2 has one kv head per head)
      const kvOfHead = tf.tensor1d(Array.from({ length: nHeads }, (_, h) => Math.floor(h / (nHeads / nKvHeads))), 'int32');
      const values = tf.gather(tf.reshape(v, [ids.length, nKvHeads, dHead]), kvOfHead, 1); // [source, head, d_head]
      const perHead = tf.sum(tf.mul(values, tf.reshape(column, [1, nHeads, dHead])), 2); // [source, head]
      const weights = tf.reshape(tf.slice(pattern, [0, 0, t, 0], [1, nHeads, 1, t + 1]), [nHeads, t + 1]); // [head, source]
      const sources = tf.sum(tf.mul(tf.transpose(weights), tf.slice(perHead, [0, 0], [t + 1, nHeads])), 1);
      const bias = sae.cfg.applyBDecToInput ? tf.sub(bEnc, tf.matMul(tf.expandDims(sae.weights.b_dec, 0), column)) : bEnc;
      return {
        tokens: ids,
        pieces: ids.map((id) => model.tokenizer.piece(id)),
        feature,
        position: t,
        act: acts[t],
        pre: pres[t],
        bias: numbers(bias)[0],
        sources: numbers(sources),
      };
    } finally {
      tf.dispose([...cache.values()]); // captured activations are kept outside any tidy
    }
  });
}

import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '@/compute/backend';
import { InputError } from '@/compute/errors';
import { loadModel } from '@/compute/model/load';
import type { LanguageModel } from '@/compute/model/types';
import { gpt2Tokenizer } from '@/compute/tokenizer/gpt2';
import {
  expectClose,
  expectTop5,
  GPT2_TINY_DIR,
  gpt2Expected,
  logitRows,
  perTokenLoss,
  sequence,
  worstExcess,
} from './gpt2-helpers';

let model: LanguageModel;

beforeAll(async () => {
  await initBackend();
  model = await loadModel(GPT2_TINY_DIR);
});

afterAll(() => model?.dispose());

describe('GPT-2 forward pass against the gpt2-tiny-a reference', () => {
  it('reads the config', () => {
    expect(model.config).toMatchObject({ architecture: 'gpt2', dModel: 64, nLayers: 2, nHeads: 4, dMlp: 256, vocabSize: 50257, contextLength: 64 });
  });

  for (const seq of gpt2Expected().sequences) {
    it(`matches ${seq.name}: top-5 at every position, last-position logits, losses, activations`, () => {
      const hooks = Object.keys(seq.last_position_activations);
      const { logits, cache } = model.forward([seq.ids], { capture: hooks });
      const last = seq.ids.length - 1;
      const [rows] = logitRows(logits!);

      seq.top5_per_position.forEach((top5, pos) => expectTop5(rows[pos], top5));
      expectClose(rows[last], seq.last_position_logits);

      const losses = perTokenLoss(rows, seq.ids);
      expectClose(losses, seq.per_token_loss, 1e-5, 0);
      if (seq.loss !== null) expect(Math.abs(losses.reduce((a, b) => a + b, 0) / losses.length - seq.loss)).toBeLessThanOrEqual(1e-5);

      for (const hook of hooks) {
        const act = cache.get(hook)!;
        expect(act.shape).toEqual([1, seq.ids.length, 64]);
        const lastRow = (act.dataSync() as Float32Array).slice(last * 64);
        expect(worstExcess(lastRow, seq.last_position_activations[hook]), hook).toBeLessThanOrEqual(0);
      }
      tf.dispose([logits!, ...cache.values()]);
    });
  }

  it('runs a batch: each row as on its own, and a prefix as the start of the full sequence (causal)', () => {
    const random40 = sequence('random40');
    const full = sequence('random_full_context64');
    const { logits } = model.forward([random40.ids, full.ids.slice(0, 40)]);
    expect(logits!.shape).toEqual([2, 40, 50257]);
    const [single, prefix] = logitRows(logits!);
    expectClose(single[39], random40.last_position_logits);
    prefix.forEach((row, pos) => expectTop5(row, full.top5_per_position[pos]));
    logits!.dispose();
  });
});

describe('GPT-2 hooks', () => {
  const ids = sequence('quick_brown_fox').ids;

  it('lists TransformerLens hook names in forward order', () => {
    expect(model.hookNames.slice(0, 4)).toEqual(['hook_embed', 'hook_pos_embed', 'blocks.0.hook_resid_pre', 'blocks.0.ln1.hook_normalized']);
    expect(model.hookNames).toContain('blocks.1.mlp.hook_post');
    expect(model.hookNames.at(-1)).toBe('ln_final.hook_normalized');
  });

  it('captures embeddings whose sum is the first residual stream', () => {
    const { logits, cache } = model.forward([ids], { capture: ['hook_embed', 'hook_pos_embed', 'blocks.0.hook_resid_pre'] });
    const sum = tf.add(cache.get('hook_embed')!, cache.get('hook_pos_embed')!);
    expectClose(sum.dataSync(), cache.get('blocks.0.hook_resid_pre')!.dataSync(), 1e-6, 0);
    tf.dispose([logits!, sum, ...cache.values()]);
  });

  it('reads an activation without changing the result', () => {
    const seen: number[][] = [];
    const { logits, cache } = model.forward([ids], {
      capture: ['blocks.1.hook_resid_pre'],
      hooks: { 'blocks.1.hook_resid_pre': (act) => void seen.push(act.shape) },
    });
    expect(seen).toEqual([[1, ids.length, 64]]);
    expectClose(logitRows(logits!)[0][ids.length - 1], sequence('quick_brown_fox').last_position_logits);
    tf.dispose([logits!, ...cache.values()]);
  });

  it('replaces an activation: zeroing the last MLP output leaves resid_post = resid_mid', () => {
    const { logits, cache } = model.forward([ids], {
      capture: ['blocks.1.hook_resid_mid', 'blocks.1.hook_mlp_out', 'blocks.1.hook_resid_post'],
      hooks: { 'blocks.1.hook_mlp_out': (act) => tf.zerosLike(act) },
    });
    expect(Math.max(...cache.get('blocks.1.hook_mlp_out')!.dataSync())).toBe(0);
    expectClose(cache.get('blocks.1.hook_resid_post')!.dataSync(), cache.get('blocks.1.hook_resid_mid')!.dataSync(), 0, 0);
    tf.dispose([logits!, ...cache.values()]);
  });

  it('adds to an activation, and the MLP hooks sit on both sides of GELU', () => {
    const delta = tf.fill([1, ids.length, 64], 0.5) as tf.Tensor3D;
    const { logits, cache } = model.forward([ids], {
      capture: ['blocks.0.hook_attn_out', 'blocks.0.hook_resid_pre', 'blocks.0.hook_resid_mid', 'blocks.0.mlp.hook_pre', 'blocks.0.mlp.hook_post'],
      hooks: { 'blocks.0.hook_attn_out': (act) => tf.add<tf.Tensor3D>(act, delta) },
    });
    const at = (name: string) => cache.get(name)!;
    const residMid = tf.add(at('blocks.0.hook_resid_pre'), at('blocks.0.hook_attn_out'));
    expectClose(at('blocks.0.hook_resid_mid').dataSync(), residMid.dataSync(), 1e-5, 1e-6);
    const x = at('blocks.0.mlp.hook_pre').dataSync();
    const gelu = Array.from(x, (v) => 0.5 * v * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (v + 0.044715 * v ** 3))));
    expectClose(at('blocks.0.mlp.hook_post').dataSync(), gelu, 1e-6, 1e-5);
    tf.dispose([logits!, delta, residMid, ...cache.values()]);
  });

  it('stops at stopAt: no logits, later hooks not run', () => {
    let laterRan = false;
    const { logits, cache } = model.forward([ids], {
      capture: ['blocks.1.hook_resid_pre'],
      hooks: { 'blocks.1.hook_attn_out': () => void (laterRan = true) },
      stopAt: 'blocks.1.hook_resid_pre',
    });
    expect(logits).toBeUndefined();
    expect(laterRan).toBe(false);
    const act = cache.get('blocks.1.hook_resid_pre')!.dataSync() as Float32Array;
    expectClose(act.slice((ids.length - 1) * 64), sequence('quick_brown_fox').last_position_activations['blocks.1.hook_resid_pre']);
    tf.dispose([...cache.values()]);
  });

  it('exposes W_U and the MLP output weights', () => {
    expect(model.unembed.shape).toEqual([64, 50257]);
    expect(model.mlpOut(1).shape).toEqual([256, 64]);
    expect(() => model.mlpOut(2)).toThrow(InputError);
  });

  it('keeps tensor memory flat over repeated forwards (with hooks, capture and stopAt)', () => {
    const run = () => {
      const a = model.forward([ids, ids], { capture: ['blocks.0.hook_resid_post'], hooks: { 'blocks.1.hook_mlp_out': (act) => tf.mul<tf.Tensor3D>(act, 2) } });
      tf.dispose([a.logits!, ...a.cache.values()]);
      const b = model.forward([ids], { capture: ['blocks.0.hook_resid_mid'], stopAt: 'blocks.1.hook_resid_pre' });
      tf.dispose([...b.cache.values()]);
    };
    run();
    const before = tf.memory().numTensors;
    for (let i = 0; i < 5; i++) run();
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('GPT-2 input errors', () => {
  const cases: [string, number[][], RegExp][] = [
    ['no sequence', [], /empty/],
    ['an empty sequence', [[]], /empty/],
    ['rows of different lengths', [[1, 2], [3]], /length/],
    ['more tokens than n_positions', [Array(65).fill(1)], /65 tokens.*64/],
    ['an id past the vocabulary', [[1, 50257]], /50257/],
    ['a negative id', [[-1]], /-1/],
    ['a fractional id', [[1.5]], /1\.5/],
  ];
  for (const [what, ids, message] of cases) {
    it(`rejects ${what}`, () => {
      const before = tf.memory().numTensors;
      expect(() => model.forward(ids)).toThrow(InputError);
      expect(() => model.forward(ids)).toThrow(message);
      expect(tf.memory().numTensors).toBe(before);
    });
  }

  it('rejects an unknown hook name', () => {
    expect(() => model.forward([[1]], { capture: ['blocks.7.hook_resid_pre'] })).toThrow(/unknown hook "blocks\.7\.hook_resid_pre"/);
    expect(() => model.forward([[1]], { stopAt: 'blocks.0.attn.hook_rot_q' })).toThrow(InputError);
  });
});

describe('GPT-2 tokenizer', () => {
  const tokenizer = gpt2Tokenizer();
  const fox = sequence('quick_brown_fox');

  it('is the default tokenizer of a gpt2 checkpoint without tokenizer.json', () => {
    expect(model.tokenizer).toBe(tokenizer);
  });

  it('encodes the fixture sentence to the fixture ids, and decodes it back', () => {
    const text = 'The quick brown fox jumps over the lazy dog.';
    expect(tokenizer.encode(text)).toEqual(fox.ids);
    expect(tokenizer.encode(text, { bos: true })).toEqual([50256, ...fox.ids]);
    expect(tokenizer.decode(fox.ids)).toBe(text);
    expect(tokenizer.encode('')).toEqual([]);
  });

  it('treats <|endoftext|> as BOS/EOS, also when written in the text', () => {
    expect([tokenizer.bosId, tokenizer.eosId, tokenizer.vocabSize]).toEqual([50256, 50256, 50257]);
    expect(tokenizer.encode('a<|endoftext|>b')).toEqual([64, 50256, 65]);
  });

  it('shows pieces as text, with bytes of incomplete characters as <0xXX>', () => {
    expect(fox.ids.slice(0, 2).map((id) => tokenizer.piece(id))).toEqual(['The', ' quick']);
    expect(tokenizer.piece(50256)).toBe('<|endoftext|>');
    const snowman = tokenizer.encode('☃'); // three UTF-8 bytes split over tokens
    expect(snowman.map((id) => tokenizer.piece(id)).join('')).toMatch(/<0xE2>/);
    expect(tokenizer.decode(snowman)).toBe('☃');
    expect(() => tokenizer.piece(50257)).toThrow(InputError);
  });
});

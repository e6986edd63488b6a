import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '@/compute/backend';
import { InputError } from '@/compute/errors';
import { disposeLlamaWeights } from '@/compute/model/llama';
import { parseLlama2cCheckpoint } from '@/compute/model/llama2c';
import { loadModel } from '@/compute/model/load';
import type { LanguageModel } from '@/compute/model/types';
import { HuggingFaceTokenizer } from '@/compute/tokenizer/huggingface';
import { STORIES_DIR } from '../shared';
import { expectClose } from './gpt2-helpers';
import { llama2cTokenizerJson, removeTempDirs, tempDir, writeLlama2cAsHuggingFace } from './huggingface-helpers';

/** stories260K's greedy decode from BOS (shared/models/stories260K/README.md) */
const GREEDY = [1, 403, 407, 261, 378, 432, 383, 286, 261, 376, 298, 315, 421, 395, 317, 426, 338, 401, 396, 267, 337, 410, 408, 419, 292];
const STORY = 'Once upon a time, there was a little girl named Lily. She loved to play outside in the park. "Lily!" said Mom — café?';

let llama2c: LanguageModel;
let converted: LanguageModel;
let hfDir: string;

beforeAll(async () => {
  await initBackend();
  llama2c = await loadModel(STORIES_DIR);
  hfDir = await tempDir('stories260K-hf');
  const file = path.join(STORIES_DIR, 'stories260K.bin');
  const checkpoint = parseLlama2cCheckpoint(await readFile(file), file);
  try {
    await writeLlama2cAsHuggingFace(hfDir, checkpoint);
  } finally {
    disposeLlamaWeights(checkpoint.weights);
  }
  const tokenizerJson = llama2cTokenizerJson(await readFile(path.join(STORIES_DIR, 'tok512.bin')));
  await writeFile(path.join(hfDir, 'tokenizer.json'), JSON.stringify(tokenizerJson));
  converted = await loadModel(hfDir);
});

afterAll(async () => {
  llama2c?.dispose();
  converted?.dispose();
  await removeTempDirs();
});

describe('stories260K converted to Hugging Face layout (rotate_half q/k rows)', () => {
  it('reads the config', () => {
    expect(converted.config).toEqual(llama2c.config);
  });

  it('gives the llama2.c logits at every position, batched', () => {
    const story = llama2c.tokenizer.encode(STORY, { bos: true }).slice(0, GREEDY.length);
    const [ours, reference] = [converted, llama2c].map((model) => {
      const { logits } = model.forward([GREEDY, story]);
      const data = logits!.dataSync().slice();
      logits!.dispose();
      return data;
    });
    expectClose(ours, reference);
    // the known first-step logits of stories260K (run.c)
    expect(ours[403]).toBeCloseTo(17.0235, 3);
    expect(ours[385]).toBeCloseTo(15.4062, 3);
  });

  it('gives the same activations at the hook points both models share', () => {
    const hooks = ['blocks.2.hook_resid_post', 'blocks.4.mlp.hook_post', 'ln_final.hook_normalized'];
    const [ours, reference] = [converted, llama2c].map((model) => model.forward([GREEDY], { capture: hooks, stopAt: hooks[2] }).cache);
    for (const hook of hooks) expectClose(ours.get(hook)!.dataSync(), reference.get(hook)!.dataSync());
    tf.dispose([...ours.values(), ...reference.values()]);
  });

  it('uses its tokenizer.json, which tokenizes as the llama2.c tokenizer', () => {
    const [ours, reference] = [converted.tokenizer, llama2c.tokenizer];
    expect(ours).toBeInstanceOf(HuggingFaceTokenizer);
    expect([ours.bosId, ours.eosId, ours.vocabSize]).toEqual([1, 2, 512]);
    for (const text of [STORY, 'Tom and  Sue went\nhome.', '日本']) {
      expect(ours.encode(text, { bos: true }), text).toEqual(reference.encode(text, { bos: true }));
      expect(ours.decode(ours.encode(text))).toBe(text);
    }
    for (let id = 3; id < 512; id++) expect(ours.piece(id), `piece ${id}`).toBe(reference.piece(id));
  });

  it('rejects Llama configs it cannot run', async () => {
    const config = JSON.parse(await readFile(path.join(hfDir, 'config.json'), 'utf8'));
    for (const [change, message] of [
      [{ rope_scaling: { type: 'linear', factor: 2 } }, /rope_scaling/],
      [{ hidden_act: 'gelu' }, /hidden_act/],
      [{ num_key_value_heads: 3 }, /k_proj\.weight" has shape \[32,64\], expected \[24,64\]/],
    ] as const) {
      await writeFile(path.join(hfDir, 'config.json'), JSON.stringify({ ...config, ...change }));
      const error = await loadModel(hfDir).catch((err: unknown) => err);
      expect(error).toBeInstanceOf(InputError);
      expect((error as Error).message).toMatch(message);
    }
    await writeFile(path.join(hfDir, 'config.json'), JSON.stringify(config));
  });
});

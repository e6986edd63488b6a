import { copyFile, readFile, truncate, writeFile } from 'node:fs/promises';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import gpt2Ranks from 'js-tiktoken/ranks/gpt2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '@/compute/backend';
import { InputError } from '@/compute/errors';
import { loadModel } from '@/compute/model/load';
import { gpt2Tokenizer } from '@/compute/tokenizer/gpt2';
import { HuggingFaceTokenizer } from '@/compute/tokenizer/huggingface';
import { readSafetensors } from '@/compute/weights/safetensors';
import { expectClose, GPT2_TINY_DIR, logitRows, sequence, worstExcess } from './gpt2-helpers';
import { gpt2TokenizerJson, removeTempDirs, tempDir, writeCheckpoint, type FloatDtype, type TensorRecord } from './huggingface-helpers';

const fox = sequence('quick_brown_fox');
let config: Record<string, unknown>;
let tensors: TensorRecord;

beforeAll(async () => {
  await initBackend();
  config = JSON.parse(await readFile(path.join(GPT2_TINY_DIR, 'config.json'), 'utf8'));
  tensors = Object.fromEntries(await readSafetensors(path.join(GPT2_TINY_DIR, 'model.safetensors')));
});

afterAll(removeTempDirs);

/** Last-position logits of the fixture sentence through the model in `dir`. */
async function foxLogits(dir: string): Promise<Float32Array> {
  const model = await loadModel(dir);
  try {
    const { logits } = model.forward([fox.ids]);
    const last = logitRows(logits!)[0][fox.ids.length - 1].slice();
    logits!.dispose();
    return last;
  } finally {
    model.dispose();
  }
}

async function checkpointDir(name: string, changes: { config?: object; tensors?: TensorRecord; shards?: number; dtype?: FloatDtype } = {}) {
  const dir = await tempDir(name);
  await writeCheckpoint(dir, changes.config ?? config, changes.tensors ?? tensors, changes);
  return dir;
}

const withPrefix = (prefix: string, record: TensorRecord) =>
  Object.fromEntries(Object.entries(record).map(([name, t]) => [prefix + name, t]));

describe('Hugging Face GPT-2 key layouts give the reference logits', () => {
  it('transformer.-prefixed keys, lm_head.weight and the attention buffers', async () => {
    const causalMask = { shape: [1, 1, 64, 64], data: new Float32Array(64 * 64).fill(1) };
    const buffers = Object.fromEntries(
      [0, 1].flatMap((i) => [[`h.${i}.attn.bias`, causalMask], [`h.${i}.attn.masked_bias`, { shape: [], data: Float32Array.of(-1e4) }]]),
    );
    const dir = await checkpointDir('prefixed', {
      tensors: { ...withPrefix('transformer.', { ...tensors, ...buffers }), 'lm_head.weight': tensors['wte.weight'] },
    });
    expectClose(await foxLogits(dir), fox.last_position_logits);
  });

  it('a sharded checkpoint (index json + 2 shards)', async () => {
    const dir = await checkpointDir('sharded', { shards: 2 });
    expectClose(await foxLogits(dir), fox.last_position_logits);
  });

  it('a separate lm_head.weight is used instead of the tied wte', async () => {
    const wte = tensors['wte.weight'];
    const doubled = { shape: wte.shape, data: wte.data.map((v) => 2 * v) };
    const dir = await checkpointDir('untied', { config: { ...config, tie_word_embeddings: false }, tensors: { ...tensors, 'lm_head.weight': doubled } });
    expectClose(await foxLogits(dir), fox.last_position_logits.map((v) => 2 * v), 2e-4, 1e-4);
  });

  for (const dtype of ['F16', 'BF16'] as const) {
    it(`${dtype} weights compute in float32: as the same rounded values stored as F32, and near the reference`, async () => {
      const halfDir = await checkpointDir(dtype.toLowerCase(), { dtype });
      const rounded = Object.fromEntries(await readSafetensors(path.join(halfDir, 'model.safetensors')));
      expect(Object.values(rounded).every((t) => t.dtype === dtype)).toBe(true);
      const roundedF32Dir = await checkpointDir(`${dtype.toLowerCase()}-as-f32`, { tensors: rounded });
      const logits = await foxLogits(halfDir);
      expectClose(logits, await foxLogits(roundedF32Dir), 0, 0);
      // rounding the weights moves these logits (|logit| up to ~19) by at most 0.017 (F16) and 0.12 (BF16)
      expect(worstExcess(logits, fox.last_position_logits, dtype === 'F16' ? 0.05 : 0.3, 0)).toBeLessThanOrEqual(0);
    });
  }
});

describe('Hugging Face checkpoint errors', () => {
  async function expectLoadError(dir: string, message: RegExp) {
    const before = tf.memory().numTensors;
    const error = await loadModel(dir).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(InputError);
    expect((error as Error).message).toMatch(message);
    expect(tf.memory().numTensors).toBe(before);
  }

  it('a truncated safetensors file', async () => {
    const dir = await checkpointDir('truncated');
    await truncate(path.join(dir, 'model.safetensors'), 1_000_000);
    await expectLoadError(dir, /truncated/);
  });

  it('a missing tensor, named with its expected shape', async () => {
    const { ['h.1.mlp.c_fc.bias']: _dropped, ...rest } = tensors;
    await expectLoadError(await checkpointDir('missing', { tensors: rest }), /"h\.1\.mlp\.c_fc\.bias" is missing.*\[256\]/);
  });

  it('a tensor of the wrong shape, named with expected and actual shapes', async () => {
    const wrong = { ...tensors, 'h.0.attn.c_attn.weight': { ...tensors['h.0.attn.c_attn.weight'], shape: [192, 64] } };
    await expectLoadError(await checkpointDir('wrong-shape', { tensors: wrong }), /"h\.0\.attn\.c_attn\.weight" has shape \[192,64\], expected \[64,192\]/);
  });

  it('no lm_head.weight although tie_word_embeddings is false', async () => {
    await expectLoadError(await checkpointDir('untied-missing', { config: { ...config, tie_word_embeddings: false } }), /"lm_head\.weight" is missing/);
  });

  it('an unknown model_type', async () => {
    await expectLoadError(await checkpointDir('bert', { config: { ...config, model_type: 'bert' } }), /model_type "bert" is not supported/);
  });

  it('a config without a required field, or with an unsupported activation', async () => {
    const { n_embd: _dropped, ...noWidth } = config;
    await expectLoadError(await checkpointDir('no-width', { config: noWidth }), /"n_embd" is missing/);
    await expectLoadError(await checkpointDir('relu', { config: { ...config, activation_function: 'relu' } }), /activation_function "relu"/);
  });

  it('a shard the index names but that is missing', async () => {
    const dir = await checkpointDir('lost-shard', { shards: 2 });
    await writeFile(path.join(dir, 'model-00002-of-00002.safetensors'), '');
    await expectLoadError(dir, /model-00002-of-00002\.safetensors/);
  });
});

describe('tokenizer.json shipped with a model', () => {
  let dir: string;

  beforeAll(async () => {
    dir = await tempDir('tokenizer-json');
    await copyFile(path.join(GPT2_TINY_DIR, 'config.json'), path.join(dir, 'config.json'));
    await copyFile(path.join(GPT2_TINY_DIR, 'model.safetensors'), path.join(dir, 'model.safetensors'));
    await writeFile(path.join(dir, 'tokenizer.json'), JSON.stringify(gpt2TokenizerJson(gpt2Ranks.bpe_ranks)));
  });

  it('is used instead of the built-in GPT-2 BPE, and agrees with it', async () => {
    const model = await loadModel(dir);
    try {
      const tokenizer = model.tokenizer;
      expect(tokenizer).toBeInstanceOf(HuggingFaceTokenizer);
      expect([tokenizer.bosId, tokenizer.eosId, tokenizer.vocabSize]).toEqual([50256, 50256, 50257]);
      expect(tokenizer.encode(fox.text!, { bos: true })).toEqual([50256, ...fox.ids]);
      const reference = gpt2Tokenizer();
      const texts = ["It's 2024, isn't it?  Two  spaces\tand\nnewlines", 'naïve café ☃ 日本語 🙂', ' leading space', 'a<|endoftext|>b'];
      for (const text of texts) {
        const ids = tokenizer.encode(text);
        expect(ids, text).toEqual(reference.encode(text));
        expect(tokenizer.decode(ids)).toBe(text);
        expect(ids.map((id) => tokenizer.piece(id))).toEqual(ids.map((id) => reference.piece(id)));
      }
      expect(() => tokenizer.decode([50257])).toThrow(InputError);
    } finally {
      model.dispose();
    }
  });
});

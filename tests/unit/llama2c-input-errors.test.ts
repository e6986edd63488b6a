import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { prepareInput } from '@/compute/analyses/predict';
import { initBackend } from '@/compute/backend';
import { InputError } from '@/compute/errors';
import { loadModel } from '@/compute/model/load';
import type { LanguageModel } from '@/compute/model/types';
import { STORIES_DIR } from '../shared';

const CHECKPOINT = path.join(STORIES_DIR, 'stories260K.bin');
const TOKENIZER = path.join(STORIES_DIR, 'tok512.bin');

let model: LanguageModel;
let tmp: string;

beforeAll(async () => {
  await initBackend();
  model = await loadModel(STORIES_DIR);
  tmp = await mkdtemp(path.join(os.tmpdir(), 'lexicon-llama2c-'));
});

afterAll(async () => {
  model?.dispose();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

function expectInputError(run: () => unknown, message: RegExp): void {
  let error: unknown;
  try {
    run();
  } catch (err) {
    error = err;
  }
  expect(error).toBeInstanceOf(InputError);
  expect((error as Error).message).toMatch(message);
}

/** A model directory holding the real tokenizer and `checkpoint` bytes as model.bin. */
async function modelDir(name: string, checkpoint: Uint8Array, tokenizer?: Uint8Array): Promise<string> {
  const dir = path.join(tmp, name);
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir);
  await writeFile(path.join(dir, 'model.bin'), checkpoint);
  if (tokenizer) await writeFile(path.join(dir, 'tok512.bin'), tokenizer);
  else await copyFile(TOKENIZER, path.join(dir, 'tok512.bin'));
  return dir;
}

/** Loading `dir` fails with an InputError matching `message`, and leaves no tensor behind. */
async function expectLoadError(dir: string, message: RegExp): Promise<void> {
  const before = tf.memory().numTensors;
  const error = await loadModel(dir).then(() => undefined, (err: unknown) => err);
  expect(error).toBeInstanceOf(InputError);
  expect((error as Error).message).toMatch(message);
  expect(tf.memory().numTensors).toBe(before);
}

describe('prompt validation', () => {
  it('rejects an empty prompt', () => {
    expectInputError(() => prepareInput(model, { text: '' }), /prompt is empty/);
    expectInputError(() => prepareInput(model, { tokenIds: [] }), /no token ids/);
  });

  it('rejects a prompt longer than the context', () => {
    expectInputError(() => prepareInput(model, { text: 'the cat sat. '.repeat(200) }), /tokens long, more than the model's context length of 512/);
    expectInputError(() => prepareInput(model, { tokenIds: new Array(513).fill(1) }), /513 tokens long/);
    expectInputError(() => prepareInput(model, { text: 'x'.repeat(1_000_000) }), /characters long/);
  });

  it('rejects out-of-range token ids', () => {
    expectInputError(() => prepareInput(model, { tokenIds: [1, 512] }), /token id 512 at position 1 is out of range/);
    expectInputError(() => prepareInput(model, { tokenIds: [1, -3] }), /token id -3/);
    expectInputError(() => prepareInput(model, { tokenIds: [1, 2.5] }), /token id 2.5/);
  });

  it('needs exactly one of text and token ids', () => {
    expectInputError(() => prepareInput(model, {}), /either a text or token ids/);
    expectInputError(() => prepareInput(model, { text: 'hi', tokenIds: [1] }), /either a text or token ids/);
  });

  it('accepts a normal prompt, BOS first', () => {
    expect(prepareInput(model, { text: 'Once upon a time' })).toEqual([1, 403, 407, 261, 378]);
  });
});

describe('forward validation', () => {
  it('rejects empty, too long, out-of-range and ragged input, and unknown hooks', () => {
    expectInputError(() => model.forward([]), /empty/);
    expectInputError(() => model.forward([[]]), /empty/);
    expectInputError(() => model.forward([new Array(513).fill(1)]), /513 tokens is longer than the model's context of 512/);
    expectInputError(() => model.forward([[1, 600]]), /token id 600/);
    expectInputError(() => model.forward([[1, 2], [1]]), /differ in length/);
    expectInputError(() => model.forward([[1]], { capture: ['blocks.9.hook_resid_post'] }), /unknown hook "blocks.9.hook_resid_post"/);
  });
});

describe('model files', () => {
  it('rejects a truncated checkpoint, naming the file and both sizes', async () => {
    const bytes = await readFile(CHECKPOINT);
    await expectLoadError(await modelDir('truncated', bytes.subarray(0, 100_000)), /model\.bin is not a valid llama2\.c checkpoint: it is 100000 bytes, but its header .* implies 1056540 bytes \(truncated\?\)/);
    await expectLoadError(await modelDir('header-only', bytes.subarray(0, 20)), /shorter than the 28-byte header/);
  });

  it('rejects trailing data', async () => {
    const bytes = await readFile(CHECKPOINT);
    await expectLoadError(await modelDir('trailing', Buffer.concat([bytes, Buffer.alloc(8)])), /implies 1056540 bytes \(trailing data\?\)/);
  });

  it('rejects a text file or a tokenizer passed as the checkpoint', async () => {
    const text = Buffer.from('Hello, this is not a model at all, just some text.\n'.repeat(10));
    await expectLoadError(await modelDir('text', text), /model\.bin is not a valid llama2\.c checkpoint: header field dim is \d+, expected 1\.\.1048576/);
    await expectLoadError(await modelDir('tokenizer-as-model', await readFile(TOKENIZER)), /model\.bin is not a valid llama2\.c checkpoint: header field hidden_dim is 0/);
  });

  it('rejects inconsistent head counts', async () => {
    const bytes = Buffer.from(await readFile(CHECKPOINT));
    bytes.writeInt32LE(3, 16); // n_kv_heads
    await expectLoadError(await modelDir('kv-heads', bytes), /n_heads 8 is not divisible by n_kv_heads 3/);
    bytes.writeInt32LE(4, 16);
    bytes.writeInt32LE(7, 12); // n_heads
    await expectLoadError(await modelDir('heads', bytes), /dim 64 is not divisible by n_heads 7/);
  });

  it('rejects a corrupt tokenizer and one whose vocabulary does not match the checkpoint', async () => {
    const checkpoint = await readFile(CHECKPOINT);
    const tokenizer = await readFile(TOKENIZER);
    await expectLoadError(await modelDir('bad-tokenizer', checkpoint, tokenizer.subarray(0, 3000)), /tok512\.bin is not a valid llama2\.c tokenizer file: token \d+ is truncated/);
    // cut after token 299: a well-formed tokenizer with 300 tokens
    let offset = 4;
    for (let id = 0; id < 300; id++) offset += 8 + tokenizer.readInt32LE(offset + 4);
    await expectLoadError(await modelDir('small-vocab', checkpoint, tokenizer.subarray(0, offset)), /tok512\.bin has 300 tokens but model\.bin has vocab_size 512/);
  });

  it('rejects directories without exactly one checkpoint and tokenizer', async () => {
    const dir = await modelDir('two-checkpoints', await readFile(CHECKPOINT));
    await copyFile(CHECKPOINT, path.join(dir, 'other.bin'));
    await expectLoadError(dir, /expected exactly one llama2\.c checkpoint \(\*\.bin\), found model\.bin, other\.bin/);
    await rm(path.join(dir, 'tok512.bin'));
    await rm(path.join(dir, 'other.bin'));
    await expectLoadError(dir, /expected exactly one llama2\.c tokenizer .*found none/);
    await expectLoadError(path.join(tmp, 'missing'), /does not exist/);
    await expectLoadError(tmp, /holds no model/);
  });
});

import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { InputError } from '../errors';
import { isLlama2cTokenizerFile, loadLlama2cTokenizer } from '../tokenizer/llama2c';
import { disposeLlamaWeights, LlamaModel, type LlamaConfig, type LlamaWeights } from './llama';

const HEADER_FIELDS = ['dim', 'hidden_dim', 'n_layers', 'n_heads', 'n_kv_heads', 'vocab_size', 'seq_len'] as const;
const HEADER_BYTES = HEADER_FIELDS.length * 4;
/** generous upper bound for any header field: anything larger is not a llama2.c header */
const MAX_FIELD = 1 << 20;
/** first bytes of llama2.c's newer export formats (version 1 and 2), which this reader does not handle */
const VERSIONED_MAGIC = 0x616b3432; // "ak42"

export interface Llama2cCheckpoint {
  config: LlamaConfig;
  weights: LlamaWeights;
}

/**
 * Reads a llama2.c legacy checkpoint (`run.c` format, see docs/formats.md). The header and the file
 * length are validated before any tensor is created, so a bad file leaves nothing to dispose.
 */
export function parseLlama2cCheckpoint(bytes: Uint8Array, file: string): Llama2cCheckpoint {
  const fail = (problem: string) =>
    new InputError(`${path.basename(file)} is not a valid llama2.c checkpoint: ${problem}`);
  if (bytes.byteLength < HEADER_BYTES) {
    throw fail(`it is ${bytes.byteLength} bytes long, shorter than the ${HEADER_BYTES}-byte header`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (view.getUint32(0, true) === VERSIONED_MAGIC) {
    throw fail('it is a versioned llama2.c export (magic "ak42"); only the legacy format is supported');
  }
  const header = Object.fromEntries(HEADER_FIELDS.map((field, i) => [field, view.getInt32(4 * i, true)])) as
    Record<(typeof HEADER_FIELDS)[number], number>;
  // a negative vocab_size marks a separate (unshared) classifier
  const sharedClassifier = header.vocab_size > 0;
  const vocab = Math.abs(header.vocab_size);
  for (const field of HEADER_FIELDS) {
    const value = field === 'vocab_size' ? vocab : header[field];
    if (value < 1 || value > MAX_FIELD) throw fail(`header field ${field} is ${header[field]}, expected 1..${MAX_FIELD}`);
  }
  const { dim, hidden_dim: hidden, n_layers: layers, n_heads: heads, n_kv_heads: kvHeads, seq_len: seqLen } = header;
  if (dim % heads !== 0) throw fail(`dim ${dim} is not divisible by n_heads ${heads}`);
  if (heads % kvHeads !== 0) throw fail(`n_heads ${heads} is not divisible by n_kv_heads ${kvHeads}`);
  const headSize = dim / heads;
  if (headSize % 2 !== 0) throw fail(`the head size dim / n_heads = ${headSize} is odd; RoPE needs pairs`);
  const kvDim = kvHeads * headSize;

  const sizes = {
    tokenEmbedding: vocab * dim,
    attnNorm: layers * dim,
    wq: layers * dim * dim,
    wk: layers * kvDim * dim,
    wv: layers * kvDim * dim,
    wo: layers * dim * dim,
    mlpNorm: layers * dim,
    w1: layers * hidden * dim,
    w2: layers * dim * hidden,
    w3: layers * hidden * dim,
    finalNorm: dim,
    ropeTables: seqLen * headSize, // two tables of seq_len·head_size/2, unused (we compute RoPE)
    classifier: sharedClassifier ? 0 : vocab * dim,
  };
  const expectedBytes = HEADER_BYTES + 4 * Object.values(sizes).reduce((a, b) => a + b, 0);
  if (bytes.byteLength !== expectedBytes) {
    const described = HEADER_FIELDS.map((f) => `${f} ${header[f]}`).join(', ');
    const hint = bytes.byteLength < expectedBytes ? 'truncated?' : 'trailing data?';
    throw fail(
      `it is ${bytes.byteLength} bytes, but its header (${described}, ${sharedClassifier ? 'shared' : 'separate'} ` +
      `classifier) implies ${expectedBytes} bytes (${hint})`,
    );
  }

  // copy out of the file buffer, because a Float32Array view needs 4-byte alignment
  // (the data is little-endian, as on every platform tfjs runs on)
  const floats = new Float32Array(new Uint8Array(bytes.subarray(HEADER_BYTES)).buffer);
  let offset = 0;
  const arrays = {} as Record<keyof typeof sizes, Float32Array>;
  for (const [name, size] of Object.entries(sizes)) {
    arrays[name as keyof typeof sizes] = floats.subarray(offset, offset + size);
    offset += size;
  }
  const perLayer = (stack: Float32Array, l: number) => {
    const n = stack.length / layers;
    return stack.subarray(l * n, (l + 1) * n);
  };

  const tokenEmbedding = tf.tensor2d(arrays.tokenEmbedding, [vocab, dim]);
  const weights: LlamaWeights = {
    tokenEmbedding,
    blocks: Array.from({ length: layers }, (_, l) => ({
      attnNorm: tf.tensor1d(perLayer(arrays.attnNorm, l)),
      wq: tf.tensor2d(perLayer(arrays.wq, l), [dim, dim]),
      wk: tf.tensor2d(perLayer(arrays.wk, l), [kvDim, dim]),
      wv: tf.tensor2d(perLayer(arrays.wv, l), [kvDim, dim]),
      wo: tf.tensor2d(perLayer(arrays.wo, l), [dim, dim]),
      mlpNorm: tf.tensor1d(perLayer(arrays.mlpNorm, l)),
      w1: tf.tensor2d(perLayer(arrays.w1, l), [hidden, dim]),
      w2: tf.tensor2d(perLayer(arrays.w2, l), [dim, hidden]),
      w3: tf.tensor2d(perLayer(arrays.w3, l), [hidden, dim]),
    })),
    finalNorm: tf.tensor1d(arrays.finalNorm),
    classifier: sharedClassifier ? tokenEmbedding : tf.tensor2d(arrays.classifier, [vocab, dim]),
  };
  const config: LlamaConfig = {
    architecture: 'llama',
    dModel: dim,
    nLayers: layers,
    nHeads: heads,
    nKvHeads: kvHeads,
    dMlp: hidden,
    vocabSize: vocab,
    contextLength: seqLen,
    rmsNormEps: 1e-5,
    ropeTheta: 10000,
  };
  return { config, weights };
}

/**
 * Finds a llama2.c model in `dir`: exactly one tokenizer (`tok*.bin` or `tokenizer.bin`) and exactly one
 * other `.bin` file, the checkpoint.
 */
export async function findLlama2cFiles(dir: string): Promise<{ checkpoint: string; tokenizer: string }> {
  const entries = await readdir(dir).catch(() => {
    throw new InputError(`model directory ${dir} cannot be read`);
  });
  const names = entries.filter((name) => name.endsWith('.bin')).sort();
  const tokenizers = names.filter(isLlama2cTokenizerFile);
  const checkpoints = names.filter((name) => !isLlama2cTokenizerFile(name));
  const exactlyOne = (found: string[], what: string) => {
    if (found.length !== 1) {
      throw new InputError(`${dir}: expected exactly one llama2.c ${what}, found ${found.length ? found.join(', ') : 'none'}`);
    }
    return path.join(dir, found[0]);
  };
  return {
    checkpoint: exactlyOne(checkpoints, 'checkpoint (*.bin)'),
    tokenizer: exactlyOne(tokenizers, 'tokenizer (tok*.bin or tokenizer.bin)'),
  };
}

/** Loads the llama2.c model (checkpoint + tokenizer) in `dir`. */
export async function loadLlama2c(dir: string): Promise<LlamaModel> {
  const files = await findLlama2cFiles(dir);
  const tokenizer = await loadLlama2cTokenizer(files.tokenizer);
  const { config, weights } = parseLlama2cCheckpoint(await readFile(files.checkpoint), files.checkpoint);
  if (tokenizer.vocabSize !== config.vocabSize) {
    disposeLlamaWeights(weights);
    throw new InputError(
      `${path.basename(files.tokenizer)} has ${tokenizer.vocabSize} tokens but ` +
      `${path.basename(files.checkpoint)} has vocab_size ${config.vocabSize}`,
    );
  }
  return new LlamaModel(config, weights, tokenizer);
}

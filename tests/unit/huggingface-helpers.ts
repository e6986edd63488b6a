import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type * as tf from '@tensorflow/tfjs-core';
import type { Llama2cCheckpoint } from '@/compute/model/llama2c';
import { writeSafetensors } from '@/compute/weights/safetensors';

/** Tensors to write, by name: float32 values in row-major order. */
export type TensorRecord = Record<string, { shape: number[]; data: Float32Array }>;

export type FloatDtype = 'F32' | 'F16' | 'BF16';

const tempDirs: string[] = [];

/** A fresh temporary directory, removed by `removeTempDirs` (call it in afterAll). */
export async function tempDir(prefix: string): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), `lexicon-${prefix}-`));
  tempDirs.push(dir);
  return dir;
}

export async function removeTempDirs(): Promise<void> {
  await Promise.all(tempDirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
}

/**
 * Writes a Hugging Face checkpoint directory: config.json and the tensors as one model.safetensors, or as
 * `shards` files named by model.safetensors.index.json, stored in `dtype`.
 */
export async function writeCheckpoint(
  dir: string,
  config: object,
  tensors: TensorRecord,
  options: { shards?: number; dtype?: FloatDtype } = {},
): Promise<void> {
  const { shards = 1, dtype = 'F32' } = options;
  await writeFile(path.join(dir, 'config.json'), JSON.stringify(config, null, 2));
  const write = (file: string, part: TensorRecord) =>
    dtype === 'F32' ? writeSafetensors(file, part, { format: 'pt' }) : writeHalfSafetensors(file, part, dtype);
  if (shards === 1) return write(path.join(dir, 'model.safetensors'), tensors);

  const names = Object.keys(tensors);
  const weightMap: Record<string, string> = {};
  for (let s = 0; s < shards; s++) {
    const file = `model-${String(s + 1).padStart(5, '0')}-of-${String(shards).padStart(5, '0')}.safetensors`;
    const part = names.filter((_, i) => i % shards === s);
    part.forEach((name) => (weightMap[name] = file));
    await write(path.join(dir, file), Object.fromEntries(part.map((name) => [name, tensors[name]])));
  }
  const index = { metadata: { total_size: 0 }, weight_map: weightMap };
  await writeFile(path.join(dir, 'model.safetensors.index.json'), JSON.stringify(index, null, 2));
}

/** A safetensors file with every tensor rounded to F16 or BF16 (round to nearest even). */
async function writeHalfSafetensors(file: string, tensors: TensorRecord, dtype: 'F16' | 'BF16'): Promise<void> {
  const header: Record<string, unknown> = {};
  const blobs: Uint16Array[] = [];
  let offset = 0;
  for (const [name, { shape, data }] of Object.entries(tensors)) {
    const halves = Uint16Array.from(data, dtype === 'F16' ? f16Bits : bf16Bits);
    header[name] = { dtype, shape, data_offsets: [offset, offset + halves.byteLength] };
    offset += halves.byteLength;
    blobs.push(halves);
  }
  const json = Buffer.from(JSON.stringify(header));
  const length = Buffer.alloc(8);
  length.writeBigUInt64LE(BigInt(json.length));
  await writeFile(file, Buffer.concat([length, json, ...blobs.map((b) => Buffer.from(b.buffer))]));
}

const f32 = new Float32Array(1);
const f32Bits = new Uint32Array(f32.buffer);

function bf16Bits(value: number): number {
  f32[0] = value;
  const x = f32Bits[0];
  return ((x + 0x7fff + ((x >>> 16) & 1)) >>> 16) & 0xffff;
}

/** IEEE half precision bits of a (finite, in-range) value, rounded to nearest even. */
function f16Bits(value: number): number {
  f32[0] = value;
  const x = f32Bits[0];
  const sign = (x >>> 16) & 0x8000;
  const exponent = ((x >>> 23) & 0xff) - 127 + 15;
  const mantissa = (x & 0x7fffff) | 0x800000;
  if (exponent >= 0x1f) throw new Error(`${value} overflows float16`);
  // normal halves keep 10 of the 23 fraction bits; subnormal ones (exponent <= 0) fewer
  const shift = exponent > 0 ? 13 : 14 - exponent;
  if (shift > 24) return sign;
  const rest = mantissa & ((1 << shift) - 1);
  const half = 1 << (shift - 1);
  let bits = exponent > 0 ? (exponent << 10) | ((mantissa >> 13) & 0x3ff) : mantissa >> shift;
  if (rest > half || (rest === half && bits & 1)) bits += 1; // a carry into the exponent is still correct
  return sign | bits;
}

/**
 * GPT-2's tokenizer.json, rebuilt from the r50k ranks bundled in js-tiktoken: the vocabulary in the
 * byte-level alphabet, and each multi-byte token's merge, found by running BPE on its bytes with the
 * lower-ranked tokens only (the last step joins exactly two parts).
 */
export function gpt2TokenizerJson(ranks: string): object {
  const tokens: Buffer[] = [];
  for (const line of ranks.split('\n').filter(Boolean)) {
    const [, first, ...encoded] = line.split(' ');
    encoded.forEach((token, i) => (tokens[Number(first) + i] = Buffer.from(token, 'base64')));
  }
  const rankOf = new Map(tokens.map((bytes, rank) => [bytes.toString('latin1'), rank]));
  const alphabet = byteLevelAlphabet();
  const show = (bytes: string) => Array.from(bytes, (c) => alphabet[c.charCodeAt(0)]).join('');

  const merges: string[] = [];
  tokens.forEach((bytes, rank) => {
    if (bytes.length < 2) return;
    let parts = Array.from(bytes.toString('latin1'));
    for (;;) {
      let best = -1;
      for (let i = 0; i + 1 < parts.length; i++) {
        const r = rankOf.get(parts[i] + parts[i + 1]);
        if (r !== undefined && r < rank && (best < 0 || r < rankOf.get(parts[best] + parts[best + 1])!)) best = i;
      }
      if (best < 0) break;
      parts = [...parts.slice(0, best), parts[best] + parts[best + 1], ...parts.slice(best + 2)];
    }
    if (parts.length !== 2) throw new Error(`token ${rank} does not come from one merge`);
    merges.push(`${show(parts[0])} ${show(parts[1])}`);
  });

  const byteLevel = { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true };
  return {
    version: '1.0',
    added_tokens: [{ id: 50256, content: '<|endoftext|>', single_word: false, lstrip: false, rstrip: false, normalized: true, special: true }],
    normalizer: null,
    pre_tokenizer: byteLevel,
    post_processor: byteLevel,
    decoder: byteLevel,
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: '',
      end_of_word_suffix: '',
      fuse_unk: false,
      byte_fallback: false,
      vocab: Object.fromEntries(tokens.map((bytes, rank) => [show(bytes.toString('latin1')), rank])),
      merges,
    },
  };
}

/** GPT-2's bytes_to_unicode: printable Latin-1 bytes stand for themselves, the others map to U+0100 on. */
function byteLevelAlphabet(): string[] {
  const printable = (b: number) => (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
  let shifted = 0;
  return Array.from({ length: 256 }, (_, b) => String.fromCodePoint(printable(b) ? b : 256 + shifted++));
}

/**
 * Writes a llama2.c checkpoint in Hugging Face layout, as HF's convert_llama_weights_to_hf.py does:
 * q/k rows permuted from interleaved pairs to rotate_half order, HF key names and config.json, plus a
 * rotary inv_freq buffer (to be ignored).
 */
export async function writeLlama2cAsHuggingFace(dir: string, checkpoint: Llama2cCheckpoint): Promise<void> {
  const { config: c, weights } = checkpoint;
  const headDim = c.dModel / c.nHeads;
  const record = (t: tf.Tensor) => ({ shape: t.shape, data: t.dataSync() as Float32Array });
  // HF: w.view(n_heads, dim1 // n_heads // 2, 2, dim2).transpose(1, 2).reshape(dim1, dim2)
  const permute = (t: tf.Tensor2D, nHeads: number) => {
    const [rows, cols] = t.shape;
    const half = headDim / 2;
    const source = t.dataSync();
    const data = new Float32Array(rows * cols);
    for (let h = 0; h < nHeads; h++)
      for (let i = 0; i < half; i++)
        for (let p = 0; p < 2; p++) {
          const from = (h * headDim + 2 * i + p) * cols;
          data.set(source.subarray(from, from + cols), (h * headDim + p * half + i) * cols);
        }
    return { shape: t.shape, data };
  };
  const invFreq = Float32Array.from({ length: headDim / 2 }, (_, i) => c.ropeTheta ** ((-2 * i) / headDim));
  const tensors: TensorRecord = { 'model.embed_tokens.weight': record(weights.tokenEmbedding), 'model.norm.weight': record(weights.finalNorm) };
  weights.blocks.forEach((w, i) => {
    Object.assign(tensors, {
      [`model.layers.${i}.input_layernorm.weight`]: record(w.attnNorm),
      [`model.layers.${i}.self_attn.q_proj.weight`]: permute(w.wq, c.nHeads),
      [`model.layers.${i}.self_attn.k_proj.weight`]: permute(w.wk, c.nKvHeads),
      [`model.layers.${i}.self_attn.v_proj.weight`]: record(w.wv),
      [`model.layers.${i}.self_attn.o_proj.weight`]: record(w.wo),
      [`model.layers.${i}.self_attn.rotary_emb.inv_freq`]: { shape: [headDim / 2], data: invFreq },
      [`model.layers.${i}.post_attention_layernorm.weight`]: record(w.mlpNorm),
      [`model.layers.${i}.mlp.gate_proj.weight`]: record(w.w1),
      [`model.layers.${i}.mlp.down_proj.weight`]: record(w.w2),
      [`model.layers.${i}.mlp.up_proj.weight`]: record(w.w3),
    });
  });
  const tied = weights.classifier === weights.tokenEmbedding;
  if (!tied) tensors['lm_head.weight'] = record(weights.classifier);
  const config = {
    architectures: ['LlamaForCausalLM'],
    model_type: 'llama',
    hidden_size: c.dModel,
    intermediate_size: c.dMlp,
    num_hidden_layers: c.nLayers,
    num_attention_heads: c.nHeads,
    num_key_value_heads: c.nKvHeads,
    vocab_size: c.vocabSize,
    max_position_embeddings: c.contextLength,
    rms_norm_eps: c.rmsNormEps,
    rope_theta: c.ropeTheta,
    rope_scaling: null,
    hidden_act: 'silu',
    tie_word_embeddings: tied,
    bos_token_id: 1,
    eos_token_id: 2,
    torch_dtype: 'float32',
  };
  await writeCheckpoint(dir, config, tensors);
}

/**
 * A llama2.c tokenizer file as a Hugging Face tokenizer.json in the Llama-2 style: BPE with byte
 * fallback, spaces as U+2581 with a prepended one, and a merge for every split of a piece into two
 * pieces, ranked by the merged piece's score (run.c merges the best-scoring pair first).
 */
export function llama2cTokenizerJson(bytes: Buffer): object {
  const pieces: string[] = [];
  const scores: number[] = [];
  for (let offset = 4; offset < bytes.length; ) {
    scores.push(bytes.readFloatLE(offset));
    const length = bytes.readInt32LE(offset + 4);
    pieces.push(bytes.toString('utf8', offset + 8, offset + 8 + length).replaceAll(' ', '\u2581'));
    offset += 8 + length;
  }
  const specials = ['<unk>', '<s>', '</s>'];
  specials.forEach((token, id) => (pieces[id] = token));
  const vocab = new Map<string, number>();
  pieces.forEach((piece, id) => vocab.has(piece) || vocab.set(piece, id));

  const byScore = [...vocab.values()].filter((id) => id >= specials.length).sort((a, b) => scores[b] - scores[a] || a - b);
  const merges: [string, string][] = [];
  for (const id of byScore) {
    const chars = Array.from(pieces[id]);
    for (let cut = 1; cut < chars.length; cut++) {
      const [left, right] = [chars.slice(0, cut).join(''), chars.slice(cut).join('')];
      if (vocab.has(left) && vocab.has(right)) merges.push([left, right]);
    }
  }
  const replace = (from: string, to: string) => ({ type: 'Replace', pattern: { String: from }, content: to });
  return {
    version: '1.0',
    added_tokens: specials.map((content, id) => ({ id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true })),
    normalizer: { type: 'Sequence', normalizers: [{ type: 'Prepend', prepend: '\u2581' }, replace(' ', '\u2581')] },
    pre_tokenizer: null,
    post_processor: null,
    decoder: {
      type: 'Sequence',
      decoders: [replace('\u2581', ' '), { type: 'ByteFallback' }, { type: 'Fuse' }, { type: 'Strip', content: ' ', start: 1, stop: 0 }],
    },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: '<unk>',
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: true,
      byte_fallback: true,
      vocab: Object.fromEntries(vocab),
      merges,
    },
  };
}

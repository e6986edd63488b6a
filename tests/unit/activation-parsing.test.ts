/**
 * Reading a Neuronpedia export's activation files off the importing thread: JSON lines from gzip streams, and the
 * parsing threads that pack them into batches, in file order, with bad input named by file and line.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InputError } from '@/compute/errors';
import { parsedActivations } from '@/server/exchange/activation-threads';
import { jsonLines } from '@/server/exchange/neuronpedia-files';

let dir: string;
beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'lexicon-activation-parsing-'));
});
afterAll(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

const write = async (name: string, text: string) => {
  const file = path.join(dir, name);
  await fs.mkdir(path.dirname(file), { recursive: true });
  await fs.writeFile(file, gzipSync(text));
  return file;
};

describe('jsonLines', () => {
  it('gives each line’s value with its line number: lines longer than a gunzip chunk, CRLF, blank lines, no final newline', async () => {
    const long = { tokens: Array.from({ length: 100_000 }, (_, i) => `t${i}`) };
    const file = await write('lines.jsonl.gz', `{"a":1}\r\n\n${JSON.stringify(long)}\n{"b":[2,3]}`);
    const read = [];
    for await (const { value, at } of jsonLines(dir, file)) read.push({ value, at });
    expect(read).toEqual([
      { value: { a: 1 }, at: { file: 'lines.jsonl.gz', line: 1 } },
      { value: long, at: { file: 'lines.jsonl.gz', line: 3 } },
      { value: { b: [2, 3] }, at: { file: 'lines.jsonl.gz', line: 4 } },
    ]);
  });

  it('names the file and line of a truncated stream and of a line that is not JSON', async () => {
    const lines = Array.from({ length: 5000 }, (_, i) => JSON.stringify({ i, pad: 'x'.repeat(100) })).join('\n');
    const whole = gzipSync(lines);
    const cut = path.join(dir, 'cut.jsonl.gz');
    await fs.writeFile(cut, whole.subarray(0, whole.length - 40));
    const drain = async (file: string) => {
      for await (const _ of jsonLines(dir, file));
    };
    await expect(drain(cut)).rejects.toThrow(/^cut\.jsonl\.gz: the gzip stream is truncated or corrupt after line \d+/);
    await expect(drain(await write('bad.jsonl.gz', '{"a":1}\n{"a":\n'))).rejects.toThrow(/^bad\.jsonl\.gz line 2: not JSON/);
  });
});

describe('parsedActivations', () => {
  const pieces = ['<unk>', '<s>', ' the', ' cat'];
  const activation = (index: number, tokens: string[]) => ({ index: String(index), tokens, values: tokens.map((_, i) => i), binMin: -1 });

  it('gives the files’ activations in file order, however the threads interleave, with tokens as ids and unknown strings per batch', async () => {
    // 2500 lines a file: batches of 1000, so files span several batches and each thread runs ahead of the reader
    const files = await Promise.all(
      [0, 1, 2].map((f) =>
        write(
          `order/activations/batch-${f}.jsonl.gz`,
          Array.from({ length: 2500 }, (_, i) => JSON.stringify(activation(f * 2500 + i, i === 7 ? [' the', '<odd>', ' cat', '<odd>'] : [' cat', ' the']))).join('\n'),
        ),
      ),
    );
    const indices: number[] = [];
    const fileOf: number[] = [];
    const seen: { file: string; tokens: number[]; unknown: string[] }[] = [];
    for await (const { k, batch } of parsedActivations(files, { root: path.join(dir, 'order'), pieces, dSae: 7500 })) {
      for (let i = 0; i < batch.count; i++) {
        indices.push(batch.index[i]!);
        fileOf.push(k);
        if (batch.lines[i] === 8) seen.push({ file: batch.file, tokens: [...batch.tokens.subarray(batch.tokenStart[i], batch.tokenStart[i + 1])], unknown: batch.unknown });
      }
    }
    expect(indices).toEqual(Array.from({ length: 7500 }, (_, i) => i));
    expect(fileOf).toEqual(Array.from({ length: 7500 }, (_, i) => Math.floor(i / 2500)));
    expect(seen).toEqual([0, 1, 2].map((f) => ({ file: `activations/batch-${f}.jsonl.gz`, tokens: [2, -1, 3, -1], unknown: ['<odd>'] })));
  });

  it('fills the buffers of released batches again, each batch as read before its release', async () => {
    // 20 batches a file: more than a thread runs ahead, so it waits for batches taken and gets their buffers back
    const n = 20_000;
    const files = await Promise.all(
      [0, 1].map((f) =>
        write(`reuse/activations/batch-${f}.jsonl.gz`, Array.from({ length: n }, (_, i) => JSON.stringify(activation(f * n + i, i % 3 ? [' cat', ' the'] : [' the']))).join('\n')),
      ),
    );
    let lines = 0;
    let wrong = 0;
    for await (const { batch, release } of parsedActivations(files, { root: path.join(dir, 'reuse'), pieces, dSae: 2 * n })) {
      for (let i = 0; i < batch.count; i++, lines++) {
        const tokens = [...batch.tokens.subarray(batch.tokenStart[i], batch.tokenStart[i + 1])];
        const acts = [...batch.acts.subarray(batch.tokenStart[i], batch.tokenStart[i + 1])];
        const expected = lines % n % 3 ? [3, 2] : [2];
        if (batch.index[i] !== lines || tokens.join() !== expected.join() || acts.join() !== expected.map((_, k) => k).join()) wrong++;
      }
      release();
      // handed over to the thread: nothing of it is left here to read by mistake
      expect(batch.tokens.length).toBe(0);
    }
    expect(lines).toBe(2 * n);
    expect(wrong).toBe(0);
  });

  it('refuses a bad line of a later file naming it, after the earlier files’ batches', async () => {
    const good = await write('bad/activations/batch-0.jsonl.gz', JSON.stringify(activation(0, [' the'])));
    const bad = await write('bad/activations/batch-1.jsonl.gz', [activation(1, [' cat']), activation(2, [' the', ' cat'])].map((a, i) => JSON.stringify(i === 1 ? { ...a, values: [1] } : a)).join('\n'));
    const taken: number[] = [];
    const run = async () => {
      for await (const { batch } of parsedActivations([good, bad], { root: path.join(dir, 'bad'), pieces, dSae: 3 })) taken.push(...batch.index);
    };
    const error = await run().catch((err: unknown) => err);
    expect(error).toBeInstanceOf(InputError);
    expect((error as Error).message).toBe("activations/batch-1.jsonl.gz line 2: feature 2's activation has 2 tokens but 1 values");
    expect(taken).toEqual([0]);
  });
});

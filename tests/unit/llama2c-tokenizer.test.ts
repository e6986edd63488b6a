import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadLlama2cTokenizer, type Llama2cTokenizer } from '@/compute/tokenizer/llama2c';
import { loadModelTokenizer } from '@/compute/tokenizer/load';
import { STORIES_DIR } from '../shared';

// ids of llama2.c's greedy decode from BOS (stories260K/README.md): "Once upon a time, there ..."
const README_GREEDY = [1, 403, 407, 261, 378, 432, 383, 286, 261, 376];

let tokenizer: Llama2cTokenizer;

beforeAll(async () => {
  tokenizer = await loadLlama2cTokenizer(path.join(STORIES_DIR, 'tok512.bin'));
});

describe('llama2.c tokenizer (tok512.bin)', () => {
  it('reads the vocabulary', () => {
    expect(tokenizer.vocabSize).toBe(512);
    expect([tokenizer.bosId, tokenizer.eosId]).toEqual([1, 2]);
    expect(tokenizer.piece(403)).toBe(' Once');
    expect(tokenizer.piece(3 + 0xe7)).toBe('<0xE7>');
  });

  it('encodes like run.c: dummy-prefix space, then best-score merges', () => {
    expect(tokenizer.encode('Once upon a time')).toEqual(README_GREEDY.slice(1, 5));
    expect(tokenizer.encode('Once upon a time, there', { bos: true })).toEqual(README_GREEDY.slice(0, 7));
    expect(tokenizer.encode('')).toEqual([]);
    expect(tokenizer.encode('', { bos: true })).toEqual([1]);
  });

  it('encodes without the dummy prefix when asked: a word as the inside of a longer one', () => {
    const ids = (text: string, dummyPrefix?: boolean) => tokenizer.encode(text, { dummyPrefix }).map((id) => tokenizer.piece(id));
    expect(ids('ball')).toEqual([' b', 'all']);
    expect(ids('ball', false)).toEqual(['b', 'all']);
    expect(ids(' ball', false)).toEqual(ids('ball'));
    expect(tokenizer.encode('', { dummyPrefix: false })).toEqual([]);
  });

  it('loads alone from a model directory', async () => {
    const alone = await loadModelTokenizer(STORIES_DIR);
    expect(alone.vocabSize).toBe(512);
    expect(alone.encode('Once upon a time')).toEqual(tokenizer.encode('Once upon a time'));
    const empty = mkdtempSync(path.join(tmpdir(), 'no-tokenizer-'));
    await expect(loadModelTokenizer(empty)).rejects.toThrow(`${empty}: expected exactly one llama2.c tokenizer (tok*.bin or tokenizer.bin), found none`);
    await expect(loadModelTokenizer(path.join(empty, 'missing'))).rejects.toThrow('cannot be read');
  });

  it('decodes like run.c: no leading space right after BOS', () => {
    expect(tokenizer.decode(README_GREEDY)).toBe('Once upon a time, there was a little');
    expect(tokenizer.decode(README_GREEDY.slice(1, 3))).toBe(' Once upon');
  });

  it('falls back to byte tokens (byte + 3) for characters outside the vocabulary', () => {
    const ids = tokenizer.encode('猫');
    const utf8 = [...Buffer.from('猫', 'utf8')];
    expect(ids.slice(-3)).toEqual(utf8.map((b) => b + 3));
    expect(ids.slice(-3).map((id) => tokenizer.piece(id))).toEqual(['<0xE7>', '<0x8C>', '<0xAB>']);
  });

  it.each(['Zoë 猫 🙂', 'Once upon a time, there was a little girl named Lily.', '  two  spaces\nand a newline', 'ÆØÅ — “quotes” ½'])(
    'round-trips %j through encode and decode',
    (text) => {
      const ids = tokenizer.encode(text, { bos: true });
      expect(ids.every((id) => Number.isInteger(id) && id >= 0 && id < 512)).toBe(true);
      expect(tokenizer.decode(ids)).toBe(text);
    },
  );

  it('joins byte tokens of one character even when decoded piece by piece would not', () => {
    const ids = tokenizer.encode('🙂');
    expect(ids.slice(-4).map((id) => tokenizer.piece(id))).toEqual(['<0xF0>', '<0x9F>', '<0x99>', '<0x82>']);
    expect(tokenizer.decode([1, ...ids])).toBe('🙂');
  });

  it('merges exactly like a literal port of run.c on random texts', () => {
    const runC = literalRunCEncoder(readFileSync(path.join(STORIES_DIR, 'tok512.bin')));
    let seed = 7;
    const random = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return Math.floor((seed / 2 ** 31) * n);
    };
    const chars = [...' abdehilnorstuy ,.!?"\'\nTOLSë猫🙂'];
    for (let k = 0; k < 300; k++) {
      let text = '';
      for (let i = random(120); i >= 0; i--) {
        text += random(3) === 0 ? tokenizer.piece(259 + random(253)) : chars[random(chars.length)];
      }
      expect(tokenizer.encode(text)).toEqual(runC(text));
    }
  });

  it('encodes long texts in reasonable time', () => {
    const text = 'Once upon a time, there was a little girl named Lily. '.repeat(600); // 32 400 characters
    const start = performance.now();
    expect(tokenizer.encode(text).length).toBeGreaterThan(5000);
    expect(performance.now() - start).toBeLessThan(2000);
  });

  it('rejects out-of-range ids', () => {
    expect(() => tokenizer.decode([1, 512])).toThrow(/token id 512 is out of range/);
    expect(() => tokenizer.piece(-1)).toThrow(/out of range/);
  });
});

/** llama2.c run.c's encode() transcribed directly (rescanning all pairs after every merge), as an oracle. */
function literalRunCEncoder(file: Buffer): (text: string) => number[] {
  const vocab: string[] = [];
  const scores: number[] = [];
  for (let offset = 4; offset < file.length; ) {
    scores.push(file.readFloatLE(offset));
    const length = file.readInt32LE(offset + 4);
    vocab.push(file.subarray(offset + 8, offset + 8 + length).toString('latin1'));
    offset += 8 + length;
  }
  const lookup = (piece: string) => vocab.indexOf(piece);
  return (text) => {
    const bytes = Buffer.from(text, 'utf8');
    const tokens = text === '' ? [] : [lookup(' ')];
    let buffer: number[] = [];
    bytes.forEach((byte, i) => {
      if ((byte & 0xc0) !== 0x80) buffer = [];
      buffer.push(byte);
      if (i + 1 < bytes.length && (bytes[i + 1] & 0xc0) === 0x80 && buffer.length < 4) return;
      const id = lookup(Buffer.from(buffer).toString('latin1'));
      if (id !== -1) tokens.push(id);
      else tokens.push(...buffer.map((b) => b + 3));
      buffer = [];
    });
    for (;;) {
      let bestScore = -1e10;
      let bestId = -1;
      let bestIdx = -1;
      for (let i = 0; i < tokens.length - 1; i++) {
        const id = lookup(vocab[tokens[i]] + vocab[tokens[i + 1]]);
        if (id !== -1 && scores[id] > bestScore) {
          bestScore = scores[id];
          bestId = id;
          bestIdx = i;
        }
      }
      if (bestIdx === -1) break;
      tokens.splice(bestIdx, 2, bestId);
    }
    return tokens;
  };
}

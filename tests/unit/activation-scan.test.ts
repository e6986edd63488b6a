/**
 * Reading activation lines from their bytes (server/exchange/activation-scan.ts): whatever it reads must pack into the
 * same batch as JSON.parse and parseActivation give, and whatever it does not read it must leave to them untouched.
 */
import { describe, expect, it } from 'vitest';
import { ActivationBatcher } from '@/server/exchange/activation-batch';
import { ActivationScanner } from '@/server/exchange/activation-scan';
import { parseActivation } from '@/server/exchange/activation-thread';
import { object } from '@/server/exchange/neuronpedia-fields';

// ' the' twice: the first id is the one used
const pieces = ['<unk>', '<s>', ' the', ' cat', 'é', '👍', 'a"b', 'back\\slash', ' the', '\n'];
const at = { file: 'activations/batch-0.jsonl.gz', line: 3 };

/** the batch each path packs `lines` into, and whether the scanner read every line itself */
function bothWays(lines: string[]) {
  const scanner = new ActivationScanner(pieces);
  const scanned = new ActivationBatcher(at.file, new Map(pieces.map((p, i) => [p, i] as const).reverse()), 100);
  const parsed = new ActivationBatcher(at.file, new Map(pieces.map((p, i) => [p, i] as const).reverse()), 100);
  const read = lines.map((line) => scanner.scan(Buffer.from(line, 'utf8'), scanned, at));
  for (const line of lines) parsed.add(parseActivation(object(JSON.parse(line), at), at), at);
  return { scanned: scanned.take(), parsed: parsed.take(), read };
}

const line = (fields: Record<string, unknown>) => JSON.stringify({ index: '7', tokens: [' the', ' cat'], values: [0, 1.5], ...fields });

describe('ActivationScanner', () => {
  it('reads a Neuronpedia line as parseActivation does, skipping the fields it does not store', () => {
    const np = line({
      id: 'src-7-top-0-0',
      modelId: 'gpt2-small',
      layer: '6-res-jb',
      creatorId: null,
      tokens: ['<s>', ' the', ' cat', ' the'],
      values: [0, 0.25, 3.75, 0],
      maxValue: 3.75,
      maxValueTokenIndex: 2,
      minValue: 0,
      lossValues: [0.5, -0.125, 0, 1e-3],
      dfaValues: [[1, 2], { nested: ['x', true, false, null, -2.5e-3] }],
      binMin: 1.25,
      binMax: 2.5,
      binContains: 0.25,
      qualifyingTokenIndex: 2,
      dataIndex: null,
    });
    const top = line({ index: 7, binMin: -1, binMax: 3.75, binContains: -1, qualifyingTokenIndex: null, lossValues: null });
    const { scanned, parsed, read } = bothWays([np, top, ` \t${line({})}\r`]);
    expect(read).toEqual([true, true, true]);
    expect(scanned).toEqual(parsed);
    expect([...scanned.tokens.subarray(0, 4)]).toEqual([1, 2, 3, 2]);
    expect([...scanned.isInterval]).toEqual([1, 0, 0]);
  });

  it('reads numbers to the same doubles as JSON.parse, digits and exponents of every kind', () => {
    const numbers = ['0', '-0', '0.0', '1', '-1.5', '0.1', '1e3', '1E+3', '2.5e-7', '-3.4028234663852886e38', '1.401298464324817e-45', '123456789012345678', '0.30000000000000004', '9007199254740993', '1e-400', '4.9e-324', '1.7976931348623157e308'];
    const random = Array.from({ length: 200 }, (_, i) => String((Math.sin(i * 12.9898) * 43758.5453) % 1 * 10 ** ((i % 40) - 20)));
    const values = [...numbers, ...random];
    const text = `{"index":"3","tokens":[${values.map(() => '" the"').join(',')}],"values":[${values.join(',')}],"maxValue":${values[7]},"binMin":${values[8]}}`;
    const { scanned, parsed, read } = bothWays([text]);
    expect(read).toEqual([true]);
    expect(scanned).toEqual(parsed);
    expect(scanned.rankKey[0]).toBe(1e3);
    expect(scanned.binMin[0]).toBe(2.5e-7);
  });

  it('reads the bare zeros most values are as JSON.parse does, and zeros of other spellings', () => {
    const zeros = ['0', '0', ' 0', '0 ', '-0', '0.0', '0e0', '0.5', '0', '1', '0'];
    const text = `{"index":"3","tokens":[${zeros.map(() => '" the"').join(',')}],"values":[${zeros.join(',')}],"lossValues":[0,0 ,-0],"maxValue":0}`;
    const { scanned, parsed, read } = bothWays([text, line({ values: [0, 0] }), line({ values: [1, 0] })]);
    expect(read).toEqual([true, true, true]);
    expect(scanned).toEqual(parsed);
    expect([...scanned.acts.subarray(0, zeros.length)]).toEqual([0, 0, 0, 0, -0, 0, 0, 0.5, 0, 1, 0]);
    expect(Object.is(scanned.loss[2], -0)).toBe(true);
  });

  it('maps escaped, non-ASCII and unknown token strings as parseActivation does', () => {
    const text = String.raw`{"index":"1","tokens":["\u00e9","é","👍","a\"b","back\\slash","\n","\u0020the"," dog"," dog","\ud83d\udc4d"," cat"],"values":[0,0,0,0,0,0,0,0,0,0,1]}`;
    const { scanned, parsed, read } = bothWays([text]);
    expect(read).toEqual([true]);
    expect(scanned).toEqual(parsed);
    expect([...scanned.tokens]).toEqual([4, 4, 5, 6, 7, 9, 2, -1, -1, 5, 3]);
    expect(scanned.unknown).toEqual([' dog']);
  });

  it('leaves lines of another shape to JSON.parse, adding nothing', () => {
    const scanner = new ActivationScanner(pieces);
    const batcher = new ActivationBatcher(at.file, new Map(), 100);
    const others = [
      String.raw`{"ind\u0065x":"7","tokens":[" the"],"values":[1]}`,
      '{"index":"7","tokens":[" the"],"tokens":[" cat"],"values":[1]}',
      '{"index":"7","tokens":[" the", 5],"values":[1]}',
      '{"index":"7","tokens":[" odd"],"values":[NaN]}',
      '{"index":"7","tokens":[" the"],"values":[01]}',
      '{"index":"7","tokens":[" the"],"values":[00]}',
      '{"index":"7","tokens":[" the"],"values":[0,]}',
      '{"index":"7","tokens":[" the"],"values":[0 0]}',
      '{"index":"7","tokens":[" the"],"values":[0x1]}',
      '{"index":"7","tokens":[" the"],"values":[0',
      '{"index":"7","tokens":[" the"],"values":[1e999]}',
      '{"index":"7","tokens":[" the"],"values":["1"]}',
      '{"index":"7.5","tokens":[" the"],"values":[1]}',
      '{"index":7.5,"tokens":[" the"],"values":[1]}',
      '{"index":"7","tokens":[" the"],"values":[1],"maxValue":"2"}',
      '{"index":"7","tokens":[" the"],"values":[1]} x',
      '{"index":"7","tokens":[" the"],"values":[1]',
      '{"tokens":[" the"],"values":[1]}',
      '{"index":"7","values":[1]}',
      '[1]',
      '{}',
      `{"index":"7","tokens":[" the"],"values":[1],"deep":${'['.repeat(100_000)}${']'.repeat(100_000)}}`,
      '',
      '   ',
    ];
    for (const text of others) expect(scanner.scan(Buffer.from(text), batcher, at), text).toBe(false);
    expect(batcher.size).toBe(0);
    expect(batcher.take().unknown).toEqual([]);
  });

  it('refuses what parseActivation would refuse, naming the line', () => {
    const scanner = new ActivationScanner(pieces);
    const batcher = new ActivationBatcher(at.file, new Map(), 100);
    expect(() => scanner.scan(Buffer.from(line({ values: [1] })), batcher, at)).toThrow("activations/batch-0.jsonl.gz line 3: feature 7's activation has 2 tokens but 1 values");
    expect(() => scanner.scan(Buffer.from(line({ index: '100' })), batcher, at)).toThrow(/line 3: feature index 100 is out of range/);
  });
});

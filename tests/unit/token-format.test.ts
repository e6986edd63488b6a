import { describe, expect, it } from 'vitest';
import { displayPiece, PADDING_PIECE, pieceOf } from '@/server/token-piece';
import { decodeByteTokens, formatFraction, formatValue } from '@/app/_components/token-format';
import { renderMarkdown } from '@/server/markdown';
import { vocabularyPieces } from '@/server/register-models';
import { coefficientScan } from '@/worker/jobs/steer';

describe('token display', () => {
  it('makes whitespace and byte tokens visible, and shows special tokens plainly', () => {
    expect(displayPiece('\n<s>\n')).toBe('<s>');
    expect(displayPiece('<|endoftext|>')).toBe('<|endoftext|>');
    expect(displayPiece('<0x0A>')).toBe('⏎');
    expect(displayPiece('a\tb\r')).toBe('a⇥b␍');
    expect(displayPiece(' ')).toBe('␣');
    expect(displayPiece(' ', true)).toBe(' ');
    expect(displayPiece(' the')).toBe(' the');
    expect(displayPiece('<0x2B>')).toBe('+');
    expect(displayPiece('<0x20>')).toBe('␣');
    expect(displayPiece('<0xC8>')).toBe('<0xC8>'); // a lone lead byte is no character
  });

  it('reads ids below 0 as an imported run’s own pieces, else as padding, which running text leaves out', () => {
    const vocab = ['<unk>', ' the', ' cat'];
    expect(pieceOf(vocab, 2)).toBe(' cat');
    expect(pieceOf(vocab, 7)).toBe('<7>'); // an id the vocabulary lacks
    // id −1−k is the run's extra piece k; ids past its extra pieces (and any below 0 of a run without) are padding
    expect(pieceOf(vocab, -2, ['<|outofrange|>', 'ü'])).toBe('ü');
    expect(pieceOf(vocab, -3, ['<|outofrange|>', 'ü'])).toBe(PADDING_PIECE);
    expect(pieceOf(vocab, -1)).toBe(PADDING_PIECE);
    expect(pieceOf(null, -1)).toBe(PADDING_PIECE);
    // the pieces a page was sent are keyed by id, its run's own pieces among them
    expect(pieceOf({ 1: ' the', [-1]: '<|outofrange|>' }, -1)).toBe('<|outofrange|>');
    expect(displayPiece(PADDING_PIECE)).toBe('<pad>');
    expect(displayPiece(PADDING_PIECE, true)).toBe('');
  });

  it('shows consecutive byte-fallback tokens as the characters they make, one token per byte still', () => {
    expect(decodeByteTokens(['▁na', '<0xC3>', '<0xAF>', 've'])).toEqual(['▁na', 'ï', '', 've']);
    // an emoji is four byte tokens: one character, three empty tokens after it
    expect(decodeByteTokens(['<0xF0>', '<0x9F>', '<0x98>', '<0x80>', '!'])).toEqual(['😀', '', '', '', '!']);
    // bytes that make no character (a cut-off sequence, a stray continuation byte) stay as they are
    expect(decodeByteTokens(['<0xC3>', 'x', '<0xAF>'])).toEqual(['<0xC3>', 'x', '<0xAF>']);
    expect(decodeByteTokens(['<0xE2>', '<0x82>'])).toEqual(['<0xE2>', '<0x82>']);
    expect(decodeByteTokens(['<0xED>', '<0xA0>', '<0x80>'])).toEqual(['<0xED>', '<0xA0>', '<0x80>']); // a surrogate
    // single-byte characters (newline) are left to displayPiece
    expect(decodeByteTokens(['<0x0A>'])).toEqual(['<0x0A>']);
  });

  it('writes densities and probabilities as percentages with three significant digits', () => {
    expect(formatFraction(0.1531)).toBe('15.3%');
    expect(formatFraction(0.00085)).toBe('0.085%');
    expect(formatFraction(1.234e-5)).toBe('0.00123%');
    expect(formatFraction(1)).toBe('100%');
    expect(formatFraction(0)).toBe('0%');
    expect(formatFraction(3e-9)).toBe('3.0e-7%');
    expect(formatFraction(Number.NaN)).toBe('—');
  });

  it('writes values with about four significant digits', () => {
    expect(formatValue(0)).toBe('0');
    expect(formatValue(7.73812)).toBe('7.738');
    expect(formatValue(-12.3456)).toBe('-12.35');
    expect(formatValue(123.456)).toBe('123.5');
    expect(formatValue(0.00012)).toBe('1.20e-4');
    expect(formatValue(12345)).toBe('1.23e+4');
  });
});

describe('vocabulary pieces', () => {
  it('covers the model vocabulary, with NUL made storable and ids past the tokenizer named', () => {
    const tokenizer = { vocabSize: 3, piece: (id: number) => ['a', 'b\0', 'c'][id]! };
    expect(vocabularyPieces(tokenizer, 4)).toEqual(['a', 'b␀', 'c', '<3>']);
  });
});

describe('steering scan', () => {
  it('spaces coefficients evenly, both ends included', () => {
    expect(coefficientScan({ from: -10, to: 10, steps: 21 })).toEqual(Array.from({ length: 21 }, (_, i) => i - 10));
    expect(coefficientScan({ from: 2, to: 5, steps: 1 })).toEqual([2]);
    expect(coefficientScan({ from: 0, to: 1, steps: 4 })).toEqual([0, 0.333333333333, 0.666666666667, 1]);
  });
});

describe('markdown', () => {
  it('renders GFM and feature links, and drops anything executable', () => {
    const html = renderMarkdown('**a** [[m/s/3]] <script>x()</script> [j](javascript:x()) ~~b~~');
    expect(html).toContain('<strong>a</strong>');
    expect(html).toContain('<a href="/m/s/3" class="feature-link">m/s/3</a>');
    expect(html).toContain('<del>b</del>');
    expect(html).not.toMatch(/script|javascript/);
    expect(renderMarkdown('   ')).toBe('');
  });
});

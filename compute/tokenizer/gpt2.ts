import { Tiktoken } from 'js-tiktoken/lite';
import gpt2Ranks from 'js-tiktoken/ranks/gpt2';
import { InputError } from '../errors';
import type { Tokenizer } from './types';

const END_OF_TEXT = 50256;

/**
 * GPT-2's byte-level BPE (the 50257-token "gpt2" / r50k_base encoding, ranks bundled in js-tiktoken).
 * `<|endoftext|>` is both BOS and EOS; written in the text it is encoded as that special token, as
 * Hugging Face's GPT-2 tokenizer does.
 */
export class Gpt2Tokenizer implements Tokenizer {
  readonly vocabSize = END_OF_TEXT + 1;
  readonly bosId = END_OF_TEXT;
  readonly eosId = END_OF_TEXT;
  private readonly bpe = new Tiktoken(gpt2Ranks);
  private tokenBytes?: Uint8Array[];

  encode(text: string, options: { bos?: boolean } = {}): number[] {
    const ids = this.bpe.encode(text, 'all');
    return options.bos ? [this.bosId, ...ids] : ids;
  }

  decode(ids: number[]): string {
    ids.forEach((id) => this.checkId(id));
    return this.bpe.decode(ids);
  }

  piece(id: number): string {
    this.checkId(id);
    if (id === END_OF_TEXT) return '<|endoftext|>';
    // many tokens are parts of a multi-byte character, so show bytes, not text decoded as a whole
    this.tokenBytes ??= parseRankBytes(gpt2Ranks.bpe_ranks);
    return displayBytes(this.tokenBytes[id]);
  }

  private checkId(id: number): void {
    if (!Number.isInteger(id) || id < 0 || id >= this.vocabSize) {
      throw new InputError(`token id ${id} is out of range: the vocabulary has ids 0..${this.vocabSize - 1}`);
    }
  }
}

let shared: Gpt2Tokenizer | undefined;

/** The GPT-2 tokenizer, built once per process (parsing the ranks takes a moment). */
export function gpt2Tokenizer(): Gpt2Tokenizer {
  shared ??= new Gpt2Tokenizer();
  return shared;
}

/** js-tiktoken's rank format: lines of `<key> <first rank> <base64 token>...`, ranks consecutive. */
function parseRankBytes(ranks: string): Uint8Array[] {
  const bytes: Uint8Array[] = [];
  for (const line of ranks.split('\n').filter(Boolean)) {
    const [, first, ...tokens] = line.split(' ');
    tokens.forEach((token, i) => (bytes[Number(first) + i] = Buffer.from(token, 'base64')));
  }
  return bytes;
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/** Bytes as text, where each byte that is not part of a complete UTF-8 character shows as <0xXX>. */
export function displayBytes(bytes: Uint8Array): string {
  let text = '';
  for (let i = 0; i < bytes.length; ) {
    const length = utf8Length(bytes[i]);
    const char = length > 0 && i + length <= bytes.length ? tryDecode(bytes.subarray(i, i + length)) : undefined;
    if (char !== undefined) {
      text += char;
      i += length;
    } else {
      text += `<0x${bytes[i].toString(16).toUpperCase().padStart(2, '0')}>`;
      i += 1;
    }
  }
  return text;
}

/** The length of the UTF-8 sequence a lead byte starts, or 0 for a continuation or invalid byte. */
function utf8Length(lead: number): number {
  if (lead < 0x80) return 1;
  if (lead >= 0xc2 && lead <= 0xdf) return 2;
  if (lead >= 0xe0 && lead <= 0xef) return 3;
  if (lead >= 0xf0 && lead <= 0xf4) return 4;
  return 0;
}

function tryDecode(bytes: Uint8Array): string | undefined {
  try {
    return strictUtf8.decode(bytes);
  } catch {
    return undefined;
  }
}

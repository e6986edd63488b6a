/**
 * A token's piece as people (and the explainer's prompts) read it. Pure, with no server dependencies: the pages and
 * client components import it as well as the server.
 */

/**
 * The piece of a token id below 0 that is no imported run's own piece: padding, which some exports put where a
 * context has no token. Token lines show it as an empty grey cell titled "padding" (isPadding); the same string as
 * a tokenizer's padding token, so a model's own `<pad>` reads the same.
 */
export const PADDING_PIECE = '<pad>';

export const isPadding = (piece: string) => piece === PADDING_PIECE;

/**
 * The piece of a token id as pages show it: the model's (`pieces`, a vocabulary or the pieces a page was sent); for
 * an id below 0, an imported run's own piece (id −1−k is `extra[k]`, server/exchange) or else padding; `<id>` for an
 * id the pieces lack.
 */
export function pieceOf(pieces: Readonly<Record<number, string>> | null | undefined, id: number, extra: readonly string[] = []): string {
  if (id < 0) return extra[-id - 1] ?? pieces?.[id] ?? PADDING_PIECE;
  return pieces?.[id] ?? `<${id}>`;
}

/** A token's piece with whitespace made visible where it would vanish (`inText`: shown within running text). */
export function displayPiece(piece: string, inText = false): string {
  // padding is no text: nothing within running text (a token line shows it as a cell of its own)
  if (isPadding(piece)) return inText ? '' : piece;
  // special tokens (llama2.c writes BOS as "\n<s>\n")
  const special = /^\s*(<\/?s>|<unk>|<\|endoftext\|>)\s*$/.exec(piece);
  if (special) return special[1]!;
  // a token of nothing but spaces would be invisible on its own (in running text it is just a space)
  if (!inText && /^ +$/.test(piece)) return '␣'.repeat(piece.length);
  // a printable ASCII byte token (<0x2B>) is just that character
  const ascii = /^<0x([2-7][0-9A-Fa-f])>$/.exec(piece);
  if (ascii && parseInt(ascii[1]!, 16) < 0x7f) return parseInt(ascii[1]!, 16) === 0x20 && !inText ? '␣' : String.fromCharCode(parseInt(ascii[1]!, 16));
  return piece
    .replace(/<0x0A>|\n/g, '⏎')
    .replace(/<0x09>|\t/g, '⇥')
    .replace(/<0x0D>|\r/g, '␍');
}

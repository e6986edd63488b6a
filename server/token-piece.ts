/**
 * A token's piece as people (and the explainer's prompts) read it. Pure, with no server dependencies: the pages and
 * client components import it as well as the server.
 */

/** A token's piece with whitespace made visible where it would vanish (`inText`: shown within running text). */
export function displayPiece(piece: string, inText = false): string {
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

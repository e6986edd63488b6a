/** How tokens and their values are written (shared by server pages and client components). */

/** A token's piece with whitespace made visible where it would vanish (`inText`: shown within running text). */
export function displayPiece(piece: string, inText = false): string {
  // special tokens (llama2.c writes BOS as "\n<s>\n")
  const special = /^\s*(<\/?s>|<unk>|<\|endoftext\|>)\s*$/.exec(piece);
  if (special) return special[1]!;
  // a token of nothing but spaces would be invisible on its own (in running text it is just a space)
  if (!inText && /^ +$/.test(piece)) return '␣'.repeat(piece.length);
  return piece
    .replace(/<0x0A>|\n/g, '↵')
    .replace(/<0x09>|\t/g, '⇥')
    .replace(/<0x0D>|\r/g, '␍');
}

/** A value with about four significant digits, exponent form when tiny or huge. */
export function formatValue(v: number): string {
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (!Number.isFinite(v)) return String(v);
  if (a >= 1000 || a < 0.001) return v.toExponential(2);
  return v.toFixed(a >= 100 ? 1 : a >= 10 ? 2 : 3);
}

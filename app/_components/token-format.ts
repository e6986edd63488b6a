/**
 * How tokens and numbers are written, the same on every page (shared by server pages and client components):
 * activations, weights and other values with formatValue, densities and probabilities (fractions) with formatFraction;
 * a single token's piece with displayPiece (server/token-piece.ts, which the explainer's prompts share).
 */

const BYTE_TOKEN = /^<0x([0-9A-Fa-f]{2})>$/;

/** How many bytes the UTF-8 sequence a lead byte starts has (0: not a lead byte). */
function sequenceLength(lead: number): number {
  if (lead >= 0xc2 && lead <= 0xdf) return 2;
  if (lead >= 0xe0 && lead <= 0xef) return 3;
  if (lead >= 0xf0 && lead <= 0xf4) return 4;
  return 0;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Byte-fallback tokens (`<0xC3><0xAF>`, SentencePiece's pieces for characters outside the vocabulary) decoded: where
 * consecutive byte tokens make a UTF-8 character, the first shows the character and the rest show nothing (each is
 * still its own token, with its own value, on hover). Bytes that make no character stay as they are.
 */
export function decodeByteTokens(pieces: readonly string[]): string[] {
  const out = [...pieces];
  const byteAt = (i: number) => {
    const m = BYTE_TOKEN.exec(pieces[i] ?? '');
    return m ? parseInt(m[1]!, 16) : -1;
  };
  for (let i = 0; i < pieces.length; i++) {
    const n = sequenceLength(byteAt(i));
    if (n === 0) continue;
    const bytes = Array.from({ length: n }, (_, k) => byteAt(i + k));
    if (bytes.some((b, k) => k > 0 && (b < 0x80 || b > 0xbf))) continue;
    let char: string;
    try {
      char = utf8.decode(Uint8Array.from(bytes));
    } catch {
      continue; // overlong or surrogate sequences stay as bytes
    }
    out[i] = char;
    for (let k = 1; k < n; k++) out[i + k] = '';
    i += n - 1;
  }
  return out;
}

/**
 * A fraction (a density, a probability) as a percentage with three significant digits: 15.3%, 0.0850%, 0.000120%.
 * One format everywhere, so the same kind of value reads the same on every page.
 */
export function formatFraction(v: number): string {
  if (!Number.isFinite(v)) return '—';
  if (v === 0) return '0%';
  const pct = 100 * v;
  // toPrecision keeps three significant digits; Number() drops the trailing zeros an exponent form would show
  return `${Math.abs(pct) >= 1e-4 ? String(Number(pct.toPrecision(3))) : pct.toExponential(1)}%`;
}

const COUNT_FORMAT = new Intl.NumberFormat('en');
/** A count with thousands separators (2,560,000): toLocaleString's format, without its Intl set-up per call (~35 µs). */
export const formatCount = (n: number) => COUNT_FORMAT.format(n);

/** A value with about four significant digits, exponent form when tiny or huge. */
export function formatValue(v: number): string {
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (!Number.isFinite(v)) return String(v);
  if (a >= 1000 || a < 0.001) return v.toExponential(2);
  return v.toFixed(a >= 100 ? 1 : a >= 10 ? 2 : 3);
}

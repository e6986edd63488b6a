/** What a form's field of feature indices or token positions may hold: "3, 5 8", and where a range fits, "10-99". */

export type NumberRange = { from: number; to: number };

/**
 * Whole numbers separated by commas or spaces; with `range`, also "from-to" (from ≤ to). Empty: undefined (the
 * caller's "all"); null: the text is neither.
 */
export function parseNumberList(text: string, options: { range: true }): number[] | NumberRange | undefined | null;
export function parseNumberList(text: string, options?: { range?: false }): number[] | undefined | null;
export function parseNumberList(text: string, options: { range?: boolean } = {}): number[] | NumberRange | undefined | null {
  const t = text.trim();
  if (t === '') return undefined;
  const range = options.range ? /^(\d+)\s*-\s*(\d+)$/.exec(t) : null;
  if (range) return Number(range[1]) <= Number(range[2]) ? { from: Number(range[1]), to: Number(range[2]) } : null;
  const parts = t.split(/[\s,]+/).filter((p) => p !== '');
  return parts.every((p) => /^\d+$/.test(p)) ? parts.map(Number) : null;
}

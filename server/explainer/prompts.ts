/**
 * The automatic explainer's prompts and how its answers are read (pure functions; docs/compute.md "Automatic
 * explanations" describes them). Examples are shown as text windows: in the explanation prompt the tokens where the
 * feature fires (activation > 0) are marked `<<like this>>`, consecutive ones in one mark, as EleutherAI's delphi
 * does; in the detection prompt nothing is marked, and the endpoint says which excerpts the explanation fits.
 */
import { displayPiece } from '../token-piece';
import type { ChatMessage } from './client';

/** Labels longer than this are refused, as a person's are. */
export const MAX_LABEL_CHARS = 200;
/** Tokens shown of each example: the window ends a few tokens after the token it is shown for. */
export const WINDOW_TOKENS = 32;
const AFTER_PEAK = 8;

/** An example as the prompts show it: its token pieces and the feature's activation at each. */
export interface Excerpt {
  pieces: string[];
  acts: number[];
}

/** The window of a context shown for the token at `at` (the peak of a top example, an interval example's token). */
export function windowAround<T>(items: T[], at: number, size = WINDOW_TOKENS): T[] {
  const end = Math.min(items.length, Math.max(at + 1 + AFTER_PEAK, size));
  return items.slice(Math.max(0, end - size), end);
}

/** Pieces joined into text as the pages show them in running text, firing tokens marked when `mark`. */
export function renderExcerpt(excerpt: Excerpt, mark: boolean): string {
  let out = '';
  let open = false;
  excerpt.pieces.forEach((piece, i) => {
    const firing = mark && excerpt.acts[i]! > 0;
    // a newline shows as ⏎, so each excerpt stays one line of the prompt
    const text = displayPiece(piece, true);
    if (firing && !open) out += '<<';
    if (!firing && open) out += '>>';
    open = firing;
    out += text;
  });
  if (open) out += '>>';
  return out.trim();
}

const EXPLAIN_SYSTEM = `You are a meticulous interpretability researcher. You are shown text excerpts on which one feature of a language model's sparse autoencoder fires. The tokens where it fires are marked between << and >>. Find what the marked tokens have in common (the tokens themselves, or what comes before them) and name it.
Answer with one line only: a short label for the feature, at most ${MAX_LABEL_CHARS} characters, with no preamble, e.g. "the word 'cat' after 'the'".`;

export function explanationMessages(examples: Excerpt[]): ChatMessage[] {
  const lines = examples.map((e, i) => `Example ${i + 1}: ${renderExcerpt(e, true)}`);
  return [
    { role: 'system', content: EXPLAIN_SYSTEM },
    { role: 'user', content: `${lines.join('\n')}\n\nLabel:` },
  ];
}

/** The label in the answer: its last non-empty line, less a "Label:"/"Explanation:" prefix and quotes around it; throws when none fits. */
export function parseLabel(answer: string): string {
  const line = answer
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '')
    .at(-1);
  const unprefixed = (line ?? '').replace(/^(label|explanation)\s*:\s*/i, '');
  // quotes around the whole label, not those inside it
  const label = (/^(["'“`])(.*)(["'”`])$/.exec(unprefixed)?.[2] ?? unprefixed).trim();
  if (!label) throw new Error('the endpoint answered no label');
  if (label.length > MAX_LABEL_CHARS) throw new Error(`the endpoint's label is longer than ${MAX_LABEL_CHARS} characters (${label.length})`);
  return label;
}

const DETECT_SYSTEM = `You are a meticulous interpretability researcher. You are given the explanation of a feature of a language model and numbered text excerpts. For each excerpt, decide whether the feature fires on some token of it, judging by the explanation alone.
Answer with a JSON list only, one number per excerpt in order: 1 when the feature fires on it, 0 when it does not. For example, for three excerpts: [1, 0, 0]`;

export function detectionMessages(label: string, excerpts: Excerpt[]): ChatMessage[] {
  const lines = excerpts.map((e, i) => `Excerpt ${i + 1}: ${renderExcerpt(e, false)}`);
  return [
    { role: 'system', content: DETECT_SYSTEM },
    { role: 'user', content: `Explanation: ${label}\n\n${lines.join('\n')}\n\nAnswer with a JSON list of ${excerpts.length} numbers (0 or 1):` },
  ];
}

/** The answer's JSON list of 0/1 (true/false also read), one per excerpt; throws naming what is wrong. */
export function parseDetection(answer: string, n: number): boolean[] {
  const match = /\[[^\]]*\]/.exec(answer);
  if (!match) throw new Error('the detection answer has no JSON list');
  let list: unknown;
  try {
    list = JSON.parse(match[0]);
  } catch {
    throw new Error(`the detection answer's list is not JSON: ${match[0].slice(0, 80)}`);
  }
  if (!Array.isArray(list) || list.length !== n) throw new Error(`the detection answer lists ${Array.isArray(list) ? list.length : 0} values for ${n} excerpts`);
  return list.map((v, i) => {
    if (v === 1 || v === true || v === '1') return true;
    if (v === 0 || v === false || v === '0') return false;
    throw new Error(`the detection answer's value ${i + 1} is ${JSON.stringify(v)}, not 0 or 1`);
  });
}

export interface DetectionScore {
  /** the mean of the rates of correct answers on firing and on non-firing excerpts (one class's rate when the other has none) */
  balancedAccuracy: number;
  n: number;
  positives: number;
  negatives: number;
}

/** Balanced accuracy of predictions against the truth (true: the feature fires on that excerpt). */
export function detectionScore(truth: boolean[], predicted: boolean[]): DetectionScore {
  const positives = truth.filter(Boolean).length;
  const negatives = truth.length - positives;
  let truePositives = 0;
  let trueNegatives = 0;
  truth.forEach((t, i) => {
    if (t && predicted[i]) truePositives++;
    if (!t && !predicted[i]) trueNegatives++;
  });
  const rates = [positives > 0 ? truePositives / positives : null, negatives > 0 ? trueNegatives / negatives : null].filter((r): r is number => r !== null);
  const balancedAccuracy = rates.length === 0 ? 0 : rates.reduce((a, b) => a + b, 0) / rates.length;
  return { balancedAccuracy, n: truth.length, positives, negatives };
}

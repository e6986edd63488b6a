/**
 * One feature's automatic explanation (docs/compute.md "Automatic explanations"): its top examples, less every third
 * one, are shown to the endpoint with the firing tokens marked, and its answer is the label. The label is scored by
 * detection, as EleutherAI's delphi does: the held-out top examples and the interval examples (positives), and as
 * many corpus contexts on which the feature does not fire at all (negatives, found by running the SAE over contexts
 * drawn from the dashboards' corpus), are shown unmarked and shuffled, and the endpoint says which the label fits.
 */
import { and, eq, inArray, sql } from 'drizzle-orm';
import { featureExamples, corpusContexts, labelProposals } from '@/drizzle/schema';
import { permutation, type Random } from '@/compute/random';
import type { Db } from '../db';
import { bytesToFloats } from '../dashboards';
import type { ChatClient, ChatMessage } from './client';
import { detectionMessages, detectionScore, explanationMessages, parseDetection, parseLabel, windowAround, WINDOW_TOKENS, type DetectionScore, type Excerpt } from './prompts';

/** Top examples shown in the prompt at most; positives held out for detection at most (as many negatives). */
export const MAX_SHOWN = 14;
export const MAX_HELD_OUT = 20;

/** A context with the feature's activation at each token, and the token it is shown for. */
export interface ExampleContext {
  tokens: number[];
  acts: ArrayLike<number>;
  /** the peak of a top example, the drawn token of an interval example */
  at: number;
}

export interface FeatureExplanation {
  label: string;
  /** the explanation prompt and the endpoint's answer, as the proposal keeps them */
  prompt: string;
  answer: string;
  detection: DetectionScore;
}

/** The feature's top examples (by rank) and interval examples (highest interval first) in a dashboard run. */
export async function examplesOf(db: Db, run: { id: string; corpusId: string }, index: number): Promise<{ top: ExampleContext[]; interval: ExampleContext[] }> {
  const rows = await db
    .select({ kind: featureExamples.kind, position: featureExamples.position, maxPos: featureExamples.maxPos, acts: featureExamples.acts, tokens: corpusContexts.tokens })
    .from(featureExamples)
    .innerJoin(corpusContexts, and(eq(corpusContexts.corpusId, run.corpusId), eq(corpusContexts.index, featureExamples.contextIndex)))
    .where(and(eq(featureExamples.runId, run.id), eq(featureExamples.featureIndex, index), inArray(featureExamples.kind, ['top', 'interval'])))
    .orderBy(featureExamples.kind, sql`${featureExamples.interval} desc`, featureExamples.rank);
  const context = (r: (typeof rows)[number]): ExampleContext => ({ tokens: r.tokens, acts: bytesToFloats(r.acts), at: r.position ?? r.maxPos });
  return { top: rows.filter((r) => r.kind === 'top').map(context), interval: rows.filter((r) => r.kind === 'interval').map(context) };
}

/** The features of the SAE that already have a proposal explained by `model`. */
export async function explainedBy(db: Db, saeId: string, model: string): Promise<Set<number>> {
  const rows = await db
    .selectDistinct({ index: labelProposals.index })
    .from(labelProposals)
    .where(and(eq(labelProposals.saeId, saeId), sql`${labelProposals.provenance}->>'source' = 'auto'`, sql`${labelProposals.provenance}->>'model' = ${model}`));
  return new Set(rows.map((r) => r.index));
}

export interface Vocabulary {
  piece(id: number): string;
  bosId: number;
}

/** The window shown of a context, BOS left out (it is no text). */
function excerpt(vocab: Vocabulary, tokens: number[], acts: ArrayLike<number>, at: number): Excerpt {
  const window = windowAround(tokens.map((id, p) => ({ id, act: acts[p] ?? 0 })), at).filter((t) => t.id !== vocab.bosId);
  return { pieces: window.map((t) => vocab.piece(t.id)), acts: window.map((t) => t.act) };
}

const asText = (messages: ChatMessage[]) => messages.map((m) => `[${m.role}]\n${m.content}`).join('\n\n');

/**
 * Asks for the label and scores it. `negatives` are contexts on which the feature never fires; `random` picks their
 * windows and shuffles the detection excerpts. Throws naming what went wrong (the endpoint, its answers, too few examples).
 */
export async function explainFeature(
  client: ChatClient,
  vocab: Vocabulary,
  examples: { top: ExampleContext[]; interval: ExampleContext[] },
  negatives: number[][],
  random: Random,
): Promise<FeatureExplanation> {
  const shown = examples.top.filter((_, rank) => rank % 3 !== 2);
  const heldOut = [...examples.top.filter((_, rank) => rank % 3 === 2), ...examples.interval];
  if (heldOut.length === 0 && shown.length > 1) heldOut.push(shown.pop()!);
  if (shown.length === 0 || heldOut.length === 0) throw new Error(`too few examples to explain and score (${examples.top.length} top, ${examples.interval.length} interval)`);

  const messages = explanationMessages(shown.slice(0, MAX_SHOWN).map((e) => excerpt(vocab, e.tokens, e.acts, e.at)));
  const answer = await client.complete(messages);
  const label = parseLabel(answer);

  const positives = heldOut.slice(0, MAX_HELD_OUT).map((e) => excerpt(vocab, e.tokens, e.acts, e.at));
  const quiet = negatives.slice(0, positives.length).map((tokens) => {
    const start = Math.floor(random() * Math.max(1, tokens.length - WINDOW_TOKENS + 1));
    const window = tokens.slice(start, start + WINDOW_TOKENS);
    return excerpt(vocab, window, new Array<number>(window.length).fill(0), 0);
  });
  const all = [...positives.map((e) => ({ e, fires: true })), ...quiet.map((e) => ({ e, fires: false }))];
  const order = Array.from(permutation(random, all.length), (i) => all[i]!);
  const predicted = parseDetection(await client.complete(detectionMessages(label, order.map((o) => o.e))), order.length);
  return { label, prompt: asText(messages), answer, detection: detectionScore(order.map((o) => o.fires), predicted) };
}

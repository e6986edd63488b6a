/**
 * Neuronpedia explanation lines both ways (docs/formats.md#neuronpedia-exports). An import turns each line into a label
 * proposal and keeps the line as given in its provenance; an export writes every explanation the wiki holds for a
 * feature: each label proposal (an imported one as its line was given, so a round trip writes the same files) and the
 * label, once, as the line of the proposal with its text (people's proposals, the label and automatic explanations
 * get Lexicon's own fields).
 */
import { sql } from 'drizzle-orm';
import type { ProposalProvenance } from '@/drizzle/schema';
import type { Db } from '../db';
import { displayNameSql } from '../users';
import { featureIndex, optionalString, string, type Fields } from './neuronpedia-fields';
import type { At } from './neuronpedia-files';
import type { ImportedExplanation } from './neuronpedia-store';

/** Our explanation types: the feature's label, and a label a person proposed that is not (or not yet) the label. */
export const LABEL_TYPE = 'lexicon-label';
export const PROPOSAL_TYPE = 'lexicon-proposal';

export function parseExplanation(o: Fields, at: At): ImportedExplanation {
  const scores = o.scores;
  return {
    index: featureIndex(o, 'index', at),
    description: string(o, 'description', at),
    modelName: optionalString(o, 'explanationModelName', at),
    type: optionalString(o, 'typeName', at),
    author: optionalString(o, 'authorId', at),
    // kept as the source gives them, each under its method's name
    scores: Array.isArray(scores)
      ? Object.fromEntries(scores.map((s: Fields, i) => [String(s?.explanationScoreTypeName ?? s?.typeName ?? `score ${i}`), s]))
      : typeof scores === 'object' && scores !== null
        ? (scores as Record<string, unknown>)
        : null,
    // text, not the object: jsonb would reorder its keys, and an export writes the line back as it came
    line: JSON.stringify(o),
  };
}

/** The source's model and SAE ids, as every line of the layout names them. */
export type LayoutIds = { modelId: string; layer: string };

type ProposalRow = {
  index: number;
  id: string;
  label: string;
  author_name: string | null;
  provenance: ProposalProvenance | null;
};

/**
 * The explanation lines of the SAE's features first..last, by feature and then by text (an order that does not
 * depend on when a proposal was made, so an instance that imported them writes them in the same order).
 */
export async function explanationLines(db: Db, saeId: string, ids: LayoutIds, first: number, last: number): Promise<object[]> {
  const { rows: pages } = await db.execute<{ index: number; label: string; body: string }>(sql`
    select p.index, p.label, p.body from feature_page p
     where p.sae_id = ${saeId} and p.index between ${first} and ${last} and p.label <> ''`);
  const { rows: proposals } = await db.execute<ProposalRow>(sql`
    select p.index, p.id, p.label, case when u.id is null then null else ${displayNameSql()} end as author_name, p.provenance
      from label_proposal p left join "user" u on u.id = p.author_id
     where p.sae_id = ${saeId} and p.index between ${first} and ${last}`);
  const labels = new Map(pages.map((p) => [p.index, p]));
  const entries = proposals.map((p) => {
    const page = labels.get(p.index);
    const isLabel = page?.label === p.label;
    if (isLabel) labels.delete(p.index);
    return { index: p.index, text: p.label, line: proposalLine(p, ids, isLabel ? page.body : null) };
  });
  // a label no proposal holds (its proposal was withdrawn, or it came before proposals did)
  for (const page of labels.values()) {
    entries.push({
      index: page.index,
      text: page.label,
      line: lexiconLine(ids, page.index, { id: `${ids.layer}-${page.index}-label`, description: page.label, authorId: null, typeName: LABEL_TYPE, notes: page.body || null }),
    });
  }
  const byText = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
  return entries.sort((a, b) => a.index - b.index || byText(a.text, b.text)).map((e) => e.line);
}

/**
 * One proposal's line; `labelBody` is the feature's description when the proposal is its label (written in `notes`,
 * which an imported line keeps as given when there is none).
 */
function proposalLine(p: ProposalRow, ids: LayoutIds, labelBody: string | null): object {
  const notes = labelBody || null;
  const given = p.provenance?.explanation;
  if (given) return { ...(JSON.parse(given) as object), ...ids, index: String(p.index), ...(notes !== null && { notes }) };
  if (p.provenance) {
    // an automatic explanation (or an import from before lines were kept): what its provenance says
    const { type, model, scores } = p.provenance;
    return lexiconLine(ids, p.index, { id: p.id, description: p.label, authorId: null, typeName: type ?? null, model, notes, scores });
  }
  return lexiconLine(ids, p.index, { id: p.id, description: p.label, authorId: p.author_name, typeName: labelBody !== null ? LABEL_TYPE : PROPOSAL_TYPE, notes });
}

function lexiconLine(
  ids: LayoutIds,
  index: number,
  e: { id: string; description: string; authorId: string | null; typeName: string | null; model?: string; notes: string | null; scores?: Record<string, unknown> },
): object {
  return {
    id: e.id,
    ...ids,
    index: String(index),
    description: e.description,
    // Neuronpedia's authorId names one of its users; ours are named as the wiki shows them
    authorId: e.authorId,
    typeName: e.typeName,
    explanationModelName: e.model ?? null,
    notes: e.notes,
    ...(e.scores && { scores: e.scores }),
  };
}

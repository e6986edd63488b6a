/**
 * Evidence: saved computations attached to a hypothesis — a "test your text" run (activations), an ablation, a
 * steering scan (each saved from a finished job: its params, result and provenance), or a dashboard snapshot (the
 * feature's statistics and top examples in the SAE's current run, with the model/SAE hashes and the run). Anyone who
 * may compute can re-run a piece of evidence: the same job with the same params, or, for a snapshot, a fresh read of
 * the current dashboards. A finished re-run is compared with the saved result lazily, by whoever reads it first (one
 * conditional UPDATE, so concurrent readers agree), and keeps whether it agrees, the largest difference and what
 * changed in the provenance.
 */
import { and, eq, inArray, isNull, sql } from 'drizzle-orm';
import { z } from 'zod';
import { dashboardRuns, evidence, evidenceReruns, hypotheses, jobs, saes } from '@/drizzle/schema';
import { hypothesisHref, type FeatureAddress } from './addresses';
import { authorize, maySeeJobContents, visibleSaeSql, type Viewer } from './authz';
import { isUuid, withTransaction, type Db } from './db';
import { badInput, forbidden, notFound, notReady, unauthenticated } from './errors';
import { getFeaturePage } from './feature-page';
import {
  hypothesisFeaturesFor,
  insertHypothesis,
  prepareHypothesis,
  publishHypothesisEvent,
  type NewHypothesis,
} from './hypotheses';
import { enqueueJob } from './jobs';
import { getQueue } from './jobs/queue';
import { EVIDENCE_JOB_TYPES, jobKinds, type EvidenceJobType, type JobResult } from '@/jobs';
import { describeIssues } from '@/jobs/kind';
import { termFeatures, type SteeringTermParam } from '@/jobs/kinds/steer-generate';
import { notifyWatchers } from './notifications';
import { pieceOf } from './token-piece';
import { displayNameSql } from './users';

export type EvidenceKind = (typeof evidence.$inferSelect)['kind'];

export const evidenceNoteInput = z.string().max(10_000, 'the note is longer than 10000 characters');

export type EvidenceSource = { kind: 'job'; jobId: string } | { kind: 'snapshot'; feature: FeatureAddress };

interface PreparedEvidence {
  kind: EvidenceKind;
  saeId: string;
  modelId: string;
  featureIndex: number;
  /** the features of the SAE the computation is about (a test-your-text run may name several) */
  features: number[];
  jobId: string | null;
  params: Record<string, unknown>;
  result: unknown;
  provenance: Record<string, unknown>;
}

const CODE_VERSION = process.env.npm_package_version ?? '0.1.0';

/** What a finished panel job or the current dashboards would save, checked: the job is done and of a kind that can be evidence. */
async function prepareEvidence(db: Db, viewer: Viewer, source: EvidenceSource): Promise<PreparedEvidence> {
  if (source.kind === 'job') {
    const job = isUuid(source.jobId) ? await db.query.jobs.findFirst({ where: eq(jobs.id, source.jobId) }) : undefined;
    if (!job) throw notFound(`no job ${source.jobId}`);
    if (!(EVIDENCE_JOB_TYPES as string[]).includes(job.type))
      throw badInput(`a ${job.type} job cannot be evidence: save a test-your-text, ablation, steering or steered generation run`);
    if (job.status !== 'done') throw notReady(`the job is ${job.status}: only a finished job can be evidence`);
    const params = job.params as { saeId: string; feature?: number; features?: number[]; steering?: SteeringTermParam[] };
    await authorize(db, viewer, 'read', { sae: params.saeId }, 'job');
    // saving publishes the job's prompt and result: only those who may see them (its owner, the SAE's maintainers, admins)
    if (!(await maySeeJobContents(db, viewer, job)))
      throw forbidden('only the job’s owner (or a maintainer of its SAE) can save it as evidence');
    const [sae] = await db.select({ modelId: saes.modelId }).from(saes).where(eq(saes.id, params.saeId));
    if (!sae) throw notFound(`the job's SAE is gone`);
    // a steered generation is about the features it steers with, the page's own first
    const features = params.feature !== undefined ? [params.feature] : params.steering ? [...new Set(params.steering.flatMap(termFeatures))] : (params.features ?? []);
    return {
      kind: job.type as EvidenceJobType,
      saeId: params.saeId,
      modelId: sae.modelId,
      featureIndex: features[0]!,
      features,
      jobId: job.id,
      params: job.params as Record<string, unknown>,
      result: job.result,
      provenance: (job.provenance as Record<string, unknown>) ?? {},
    };
  }
  const { feature } = source;
  const snapshot = await dashboardSnapshot(db, feature);
  if (!snapshot) throw notFound(`no feature ${feature.model}/${feature.sae}/${feature.index}`);
  await authorize(db, viewer, 'read', { sae: snapshot.saeId }, `feature ${feature.model}/${feature.sae}/${feature.index}`);
  if (!snapshot.result) throw notReady('this feature has no dashboard to snapshot yet');
  return {
    kind: 'dashboard',
    saeId: snapshot.saeId,
    modelId: snapshot.modelId,
    featureIndex: feature.index,
    features: [feature.index],
    jobId: null,
    params: snapshot.params,
    result: snapshot.result,
    provenance: snapshot.provenance,
  };
}

export interface DashboardSnapshotResult {
  label: string;
  stats: Record<string, number>;
  logitTop: { id: number; value: number }[];
  top: { contextIndex: number; maxAct: number; maxPos: number; tokens: number[]; acts: number[] }[];
  pieces: Record<number, string>;
}

/** What of a snapshot its view reads token by token: each example's ids and activations, and the ids' pieces. */
const snapshotTokens = z.object({
  top: z.array(z.object({ tokens: z.array(z.number().int()), acts: z.array(z.number()) })),
  pieces: z.record(z.string(), z.string()),
});

/**
 * Checks a snapshot's tokens as an import reads one (server/exchange/lexicon-format.ts); throws naming the first
 * problem. Ids below 0 are padding or an imported run's own pieces (server/token-piece.ts), which a dashboard may
 * have: dashboardSnapshot writes their pieces beside them, so one without its piece is refused. Job evidence needs no
 * such check: its kinds' schemas take token ids ≥ 0 only (a tokenizer's), and a result that fails them reads as such.
 */
export function checkSnapshotTokens(result: unknown): void {
  const parsed = snapshotTokens.safeParse(result);
  if (!parsed.success) throw new Error(`result is not a dashboard snapshot: ${describeIssues(parsed.error)}`);
  const { top, pieces } = parsed.data;
  top.forEach((example, i) =>
    example.tokens.forEach((id, t) => {
      if (id < 0 && pieces[id] === undefined) throw new Error(`result.top[${i}].tokens[${t}] is ${id}, an id below 0 (padding, or an imported run's own piece) with no piece in result.pieces`);
    }),
  );
}

const SNAPSHOT_STATS = ['nTokens', 'nonzeroCount', 'density', 'maxAct', 'meanAct', 'meanActAll', 'encoderBias', 'encoderNorm', 'decoderNorm', 'deDot', 'deCos'] as const;
const SNAPSHOT_EXAMPLES = 5;

/** The feature's current dashboard as evidence stores it, with provenance (model, SAE, run, corpus, and the run's job). */
async function dashboardSnapshot(db: Db, feature: FeatureAddress) {
  const page = await getFeaturePage(db, feature.model, feature.sae, feature.index);
  if (!page) return undefined;
  const base = { saeId: page.sae.id, modelId: page.model.id };
  if (!page.run || !page.stats) return { ...base, params: {}, result: null, provenance: {} };
  const [run] = await db.execute<{ corpus_hash: string; provenance: Record<string, unknown> | null }>(sql`
    select c.content_hash as corpus_hash, j.provenance
      from ${dashboardRuns} r join corpus c on c.id = r.corpus_id left join job j on j.id = r.job_id
     where r.id = ${page.run.id}`).then((r) => r.rows);
  const stats = page.stats;
  const top = page.top.slice(0, SNAPSHOT_EXAMPLES).map((e) => ({ contextIndex: e.contextIndex, maxAct: e.maxAct, maxPos: e.maxPos, tokens: e.tokens, acts: e.acts }));
  const pieces: Record<number, string> = {};
  for (const e of top) for (const id of e.tokens) pieces[id] = pieceOf(page.pieces, id);
  const result: DashboardSnapshotResult = {
    label: page.page.label,
    stats: Object.fromEntries(SNAPSHOT_STATS.map((k) => [k, stats[k]])),
    logitTop: stats.logitTop,
    top,
    pieces,
  };
  return {
    ...base,
    params: { saeId: page.sae.id, feature: feature.index, runId: page.run.id, corpusId: page.run.corpusId },
    result,
    provenance: {
      model: page.model.contentHash,
      sae: page.sae.contentHash,
      run: page.run.id,
      corpus: run?.corpus_hash ?? null,
      codeVersion: (run?.provenance?.codeVersion as string | undefined) ?? CODE_VERSION,
      backend: (run?.provenance?.backend as string | undefined) ?? null,
    },
  };
}

export interface SaveEvidence {
  /** an existing hypothesis, or a new one to create with the evidence (in one transaction) */
  hypothesisId?: string;
  newHypothesis?: NewHypothesis;
  source: EvidenceSource;
  note?: string;
  /** this site's hosts (a new hypothesis's pasted feature URLs) */
  hosts?: readonly string[];
}

/**
 * Attaches evidence to a hypothesis (needs edit on every SAE of the hypothesis); watchers are notified. The evidence
 * must be about one of the hypothesis's features (its SAE and index): a hypothesis is as visible as its SAEs, so a
 * computation on any other SAE (a team's, a private one) would show its prompt and activations to the hypothesis's
 * readers.
 */
export async function saveEvidence(db: Db, viewer: Viewer, input: SaveEvidence): Promise<{ id: string; hypothesisId: string }> {
  if (!viewer) throw unauthenticated();
  if ((input.hypothesisId === undefined) === (input.newHypothesis === undefined))
    throw badInput('choose a hypothesis, or write a new one');
  const note = evidenceNoteInput.parse(input.note ?? '');
  const newHypothesis = input.newHypothesis ? await prepareHypothesis(db, viewer, input.newHypothesis) : undefined;
  let features: { saeId: string; index: number }[];
  let modelId: string;
  if (newHypothesis) {
    features = newHypothesis.features;
    modelId = newHypothesis.modelId;
  } else {
    features = await hypothesisFeaturesFor(db, viewer, input.hypothesisId!, 'edit');
    const [row] = await db.select({ modelId: hypotheses.modelId }).from(hypotheses).where(eq(hypotheses.id, input.hypothesisId!));
    modelId = row!.modelId;
  }
  const prepared = await prepareEvidence(db, viewer, input.source);
  if (modelId !== prepared.modelId) throw badInput('the evidence is a computation on another model than the hypothesis is about');
  const about = prepared.features.find((index) => features.some((f) => f.saeId === prepared.saeId && f.index === index));
  if (about === undefined)
    throw badInput('the evidence is about a feature the hypothesis is not about: save it on a hypothesis about that feature');
  return withTransaction(async (tx) => {
    const hypothesisId = newHypothesis ? (await insertHypothesis(tx, viewer.id, newHypothesis, input.hosts)).id : input.hypothesisId!;
    const { modelId: _model, features: _features, ...rest } = prepared;
    const row = { ...rest, featureIndex: about };
    const [saved] = await tx
      .insert(evidence)
      .values({ ...row, hypothesisId, note, addedBy: viewer.id })
      .returning({ id: evidence.id });
    await tx.update(hypotheses).set({ updatedAt: new Date() }).where(eq(hypotheses.id, hypothesisId));
    const [h] = await tx.select({ statement: hypotheses.statement }).from(hypotheses).where(eq(hypotheses.id, hypothesisId));
    await notifyWatchers(
      tx,
      { kind: 'hypothesis', targetId: hypothesisId },
      { kind: 'evidence', actorId: viewer.id, summary: `new ${KIND_NAMES[prepared.kind]} evidence on: ${h!.statement.slice(0, 120)}`, url: hypothesisHref(hypothesisId) },
    );
    await publishHypothesisEvent(tx, hypothesisId, 'evidence', features, saved!.id);
    return { id: saved!.id, hypothesisId };
  });
}

export const KIND_NAMES: Record<EvidenceKind, string> = {
  activations: 'test-your-text',
  ablate: 'ablation',
  steer: 'steering',
  'steer-generate': 'steered generation',
  dashboard: 'dashboard snapshot',
};

// ---------------------------------------------------------------------------------------------------------------
// Re-runs

/** Re-runs a piece of evidence: the same job with the same params, or (a snapshot) a read of the current dashboards. */
export async function rerunEvidence(db: Db, viewer: Viewer, evidenceId: string): Promise<{ id: string; jobId: string | null }> {
  const row = isUuid(evidenceId) ? await db.query.evidence.findFirst({ where: eq(evidence.id, evidenceId) }) : undefined;
  if (!row) throw notFound(`no evidence ${evidenceId}`);
  const features = await hypothesisFeaturesFor(db, viewer, row.hypothesisId, 'read');
  if (!row.saeId) throw notReady('the SAE this evidence was computed on is gone');
  await authorize(db, viewer, 'compute', { sae: row.saeId }, 'evidence');
  const [sae] = await db.select({ modelId: saes.modelId }).from(saes).where(eq(saes.id, row.saeId));
  const insertRerun = async (tx: Db, values: Omit<typeof evidenceReruns.$inferInsert, 'evidenceId' | 'requestedBy'>) => {
    const [inserted] = await tx.insert(evidenceReruns).values({ evidenceId, requestedBy: viewer!.id, ...values }).returning({ id: evidenceReruns.id });
    await publishHypothesisEvent(tx, row.hypothesisId, 'evidence', features, evidenceId);
    return { id: inserted!.id, jobId: values.jobId ?? null };
  };
  if (row.kind === 'dashboard') {
    const [address] = await db.execute<{ model: string; sae: string }>(sql`
      select m.slug as model, s.slug as sae from sae s join model m on m.id = s.model_id where s.id = ${row.saeId}`).then((r) => r.rows);
    const now = await dashboardSnapshot(db, { model: address!.model, sae: address!.sae, index: row.featureIndex! });
    const comparison = now?.result
      ? compareEvidence('dashboard', row.result, now.result, row.provenance as Provenance, now.provenance)
      : { ...emptyComparison(row.provenance as Provenance, {}), mismatch: 'the feature has no dashboard now' };
    return withTransaction((tx) => insertRerun(tx, { agrees: comparison.agrees, comparison }));
  }
  const type = row.kind;
  let rerun!: { id: string; jobId: string | null };
  await enqueueJob(
    await getQueue(),
    { type, params: jobKinds[type].params.parse(row.params) as never, userId: viewer!.id, modelId: sae!.modelId },
    {
      requestedBy: viewer!, // a re-run is a compute job like any other: it counts against the rate limit
      alongside: async (tx, job) => void (rerun = await insertRerun(tx, { jobId: job.id })),
    },
  );
  return rerun;
}

type Provenance = Record<string, unknown>;

export interface Comparison {
  agrees: boolean;
  /** the largest |saved − re-run| over the compared values, and the relative one */
  maxAbsDiff: number;
  maxRelDiff: number;
  /** where the largest difference is (a path into the result) */
  worst: string | null;
  /** how many numbers were compared */
  compared: number;
  /** a structural difference (other tokens, another number of values), or the re-run's error */
  mismatch: string | null;
  /** provenance entries that differ between the saved result and the re-run */
  provenanceChanges: { key: string; saved: unknown; rerun: unknown }[];
  rerunProvenance: Provenance;
}

/** Values agree when |a − b| ≤ ATOL + RTOL·max(|a|, |b|) (numpy's allclose, symmetric). */
export const RTOL = 1e-4;
export const ATOL = 1e-5;
/** Keys whose values must match exactly (token ids, the coefficient grid, example positions). */
const EXACT = new Set(['tokens', 'coefficients', 'contextIndex', 'maxPos', 'id', 'nTokens', 'nonzeroCount']);
const PROVENANCE_KEYS = ['model', 'sae', 'run', 'corpus', 'codeVersion', 'backend'];

/**
 * What of a result is compared: the numbers that carry the finding, not presentation (pieces) or near-tie orderings.
 * A job kind says which (its `evidence` schema, jobs/kinds/); a snapshot's statistics, logit weights and top examples.
 */
function comparable(kind: EvidenceKind, result: unknown): { value: unknown } | { problem: string } {
  if (kind === 'dashboard') {
    const r = result as Partial<DashboardSnapshotResult>;
    return { value: { stats: r.stats, logitTop: r.logitTop, top: r.top?.map((e) => ({ contextIndex: e.contextIndex, maxAct: e.maxAct, tokens: e.tokens, acts: e.acts })) } };
  }
  const parsed = jobKinds[kind].evidence.safeParse(result);
  return parsed.success ? { value: parsed.data } : { problem: describeIssues(parsed.error) };
}

function emptyComparison(saved: Provenance, rerun: Provenance): Comparison {
  return {
    agrees: false,
    maxAbsDiff: 0,
    maxRelDiff: 0,
    worst: null,
    compared: 0,
    mismatch: null,
    provenanceChanges: PROVENANCE_KEYS.filter((k) => k in saved || k in rerun)
      .filter((k) => JSON.stringify(saved[k] ?? null) !== JSON.stringify(rerun[k] ?? null))
      .map((key) => ({ key, saved: saved[key] ?? null, rerun: rerun[key] ?? null })),
    rerunProvenance: rerun,
  };
}

/** Compares a re-run's result with the saved one (pure: unit-testable). */
export function compareEvidence(kind: EvidenceKind, saved: unknown, fresh: unknown, savedProvenance: Provenance, rerunProvenance: Provenance): Comparison {
  const out = emptyComparison(savedProvenance ?? {}, rerunProvenance ?? {});
  let within = true;
  const walk = (a: unknown, b: unknown, path: string, exact: boolean): void => {
    if (out.mismatch) return;
    if (typeof a === 'number' && typeof b === 'number') {
      out.compared++;
      const diff = Math.abs(a - b);
      if (exact && diff !== 0) out.mismatch = `${path} differs: ${a} saved, ${b} now`;
      if (diff > ATOL + RTOL * Math.max(Math.abs(a), Math.abs(b))) within = false;
      const rel = diff === 0 ? 0 : diff / Math.max(Math.abs(a), Math.abs(b));
      if (diff > out.maxAbsDiff) {
        out.maxAbsDiff = diff;
        out.worst = path;
      }
      out.maxRelDiff = Math.max(out.maxRelDiff, rel);
      return;
    }
    if (Array.isArray(a) && Array.isArray(b)) {
      if (a.length !== b.length) {
        out.mismatch = `${path} has ${a.length} values saved, ${b.length} now`;
        return;
      }
      a.forEach((x, i) => walk(x, b[i], `${path}[${i}]`, exact));
      return;
    }
    if (a && b && typeof a === 'object' && typeof b === 'object') {
      const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
      for (const k of keys) walk((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], path ? `${path}.${k}` : k, exact || EXACT.has(k));
      return;
    }
    if (a !== b && !(a == null && b == null)) out.mismatch = `${path || 'the result'} differs: ${JSON.stringify(a)} saved, ${JSON.stringify(b)} now`;
  };
  const [a, b] = [comparable(kind, saved), comparable(kind, fresh)];
  if ('problem' in a) out.mismatch = `the saved result is not a ${KIND_NAMES[kind]} result: ${a.problem}`;
  else if ('problem' in b) out.mismatch = `the re-run's result is not a ${KIND_NAMES[kind]} result: ${b.problem}`;
  else walk(a.value, b.value, '', false);
  out.agrees = out.mismatch === null && within;
  return out;
}

/**
 * Compares the finished re-runs of these evidence items that have not been compared yet. Idempotent: the UPDATE
 * only writes a re-run still unsettled, so two readers settling at once write the same answer once.
 */
export async function settleReruns(db: Db, evidenceIds: string[]): Promise<number> {
  if (evidenceIds.length === 0) return 0;
  const pending = await db
    .select({
      id: evidenceReruns.id,
      kind: evidence.kind,
      saved: evidence.result,
      savedProvenance: evidence.provenance,
      status: jobs.status,
      result: jobs.result,
      provenance: jobs.provenance,
      error: jobs.error,
    })
    .from(evidenceReruns)
    .innerJoin(evidence, eq(evidence.id, evidenceReruns.evidenceId))
    .innerJoin(jobs, eq(jobs.id, evidenceReruns.jobId))
    .where(and(inArray(evidenceReruns.evidenceId, evidenceIds), isNull(evidenceReruns.agrees), inArray(jobs.status, ['done', 'failed', 'cancelled'])));
  let settled = 0;
  for (const p of pending) {
    const provenance = (p.provenance as Provenance) ?? {};
    const comparison: Comparison =
      p.status === 'done'
        ? compareEvidence(p.kind, p.saved, p.result, p.savedProvenance as Provenance, provenance)
        : { ...emptyComparison(p.savedProvenance as Provenance, provenance), mismatch: p.status === 'failed' ? `the re-run failed: ${p.error}` : 'the re-run was cancelled' };
    const rows = await db
      .update(evidenceReruns)
      .set({ agrees: comparison.agrees, comparison })
      .where(and(eq(evidenceReruns.id, p.id), isNull(evidenceReruns.agrees)))
      .returning({ id: evidenceReruns.id });
    settled += rows.length;
  }
  return settled;
}

// a type, not an interface, so that it is a row type for db.execute
export type RerunView = {
  id: string;
  jobId: string | null;
  jobStatus: string | null;
  agrees: boolean | null;
  comparison: Comparison | null;
  requestedByName: string | null;
  createdAt: Date;
};

/**
 * What was saved, read by its kind: a job's result through its kind's schema (null, with the reason, when the stored
 * result no longer fits it), a snapshot as dashboardSnapshot wrote it.
 */
export type EvidenceContent =
  | { [K in EvidenceJobType]: { kind: K; result: JobResult<K>; unreadable: null } | { kind: K; result: null; unreadable: string } }[EvidenceJobType]
  | { kind: 'dashboard'; result: DashboardSnapshotResult; unreadable: null };

function readContent(kind: EvidenceKind, result: unknown): EvidenceContent {
  if (kind === 'dashboard') return { kind, result: result as DashboardSnapshotResult, unreadable: null };
  const parsed = jobKinds[kind].result.safeParse(result);
  if (!parsed.success) return { kind, result: null, unreadable: `the saved result does not fit a ${KIND_NAMES[kind]} result: ${describeIssues(parsed.error)}` };
  // the kind and its schema's output go together (TypeScript does not correlate the two unions itself)
  return { kind, result: parsed.data, unreadable: null } as EvidenceContent;
}

export type EvidenceView = EvidenceContent & {
  id: string;
  feature: FeatureAddress | null;
  jobId: string | null;
  params: Record<string, unknown>;
  provenance: Provenance;
  note: string;
  addedByName: string | null;
  createdAt: Date;
  /** newest first, at most RERUNS_SHOWN */
  reruns: RerunView[];
};

const RERUNS_SHOWN = 5;

/**
 * A hypothesis's evidence that `viewer` may see, oldest first, each with its latest re-runs (finished ones compared
 * first). The caller authorised reading the hypothesis; each piece is checked again on its own SAE, as it is now
 * (evidence saved before it had to be about the hypothesis's features, or whose SAE has become private or a team's
 * since, is left out), and evidence whose SAE is gone is kept (it shows no feature).
 */
export async function listEvidence(db: Db, viewer: Viewer, hypothesisId: string): Promise<EvidenceView[]> {
  const rows = await db.execute<Record<string, unknown>>(sql`
    select e.id, e.kind, e.job_id, e.params, e.result, e.provenance, e.note, e.created_at, e.feature_index,
           ${displayNameSql()} as added_by_name, m.slug as model, s.slug as sae
      from evidence e
      left join "user" u on u.id = e.added_by
      left join sae s on s.id = e.sae_id left join model m on m.id = s.model_id
     where e.hypothesis_id = ${hypothesisId}
       and (e.sae_id is null or ${visibleSaeSql(viewer, sql`e.sae_id`)})
     order by e.created_at, e.id`);
  const ids = rows.rows.map((r) => r.id as string);
  await settleReruns(db, ids);
  const reruns =
    ids.length === 0
      ? []
      : (
          await db.execute<RerunView & { evidenceId: string }>(sql`
            select id, "evidenceId", "jobId", "jobStatus", agrees, comparison, "requestedByName", "createdAt" from (
              select x.id, x.evidence_id as "evidenceId", x.job_id as "jobId", j.status as "jobStatus", x.agrees, x.comparison,
                     ${displayNameSql('u')} as "requestedByName", x.created_at as "createdAt",
                     row_number() over (partition by x.evidence_id order by x.created_at desc, x.id desc) as n
                from evidence_rerun x
                left join job j on j.id = x.job_id
                left join "user" u on u.id = x.requested_by
               where x.evidence_id in (${sql.join(ids.map((id) => sql`${id}::uuid`), sql`, `)})
            ) newest
             where n <= ${RERUNS_SHOWN}
             order by "createdAt" desc, id desc`)
        ).rows;
  return rows.rows.map((r) => ({
    id: r.id as string,
    ...readContent(r.kind as EvidenceKind, r.result),
    feature: r.model ? { model: r.model as string, sae: r.sae as string, index: r.feature_index as number } : null,
    jobId: r.job_id as string | null,
    params: r.params as Record<string, unknown>,
    provenance: r.provenance as Provenance,
    note: r.note as string,
    addedByName: r.added_by_name as string | null,
    createdAt: new Date(r.created_at as string),
    reruns: reruns.filter((x) => x.evidenceId === r.id).map(({ evidenceId: _e, createdAt, ...x }) => ({ ...x, createdAt: new Date(createdAt) })),
  }));
}

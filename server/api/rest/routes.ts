/**
 * The REST API (/api/v1): each route's path, scope, zod schemas (path parameters, query, body, response) and what it
 * does, which is calling the tRPC procedure the pages call (so permissions and validation stay in one place). The
 * dispatcher (./handler.ts) and the OpenAPI document (./openapi.ts) are both made from this table.
 */
import { z } from 'zod';
import { featureIndexInput, slugInput } from '../../address-inputs';
import { cursorToString, FEATURE_SORTS } from '../../saes';
import type { createCaller } from '../root';

type Caller = ReturnType<typeof createCaller>;

/** 'read': anyone may call it (anonymous callers see public data); 'write': a read-write token. */
export type RouteScope = 'read' | 'write';

export interface Route<P extends z.ZodType = z.ZodType, Q extends z.ZodType = z.ZodType, B extends z.ZodType = z.ZodType, R extends z.ZodType = z.ZodType> {
  method: 'GET' | 'PUT' | 'POST';
  /** OpenAPI style: `/{model}/{sae}`; literal segments are matched before parameters */
  path: string;
  summary: string;
  scope: RouteScope;
  /** the status of a success */
  status?: 200 | 201;
  params?: P;
  query?: Q;
  body?: B;
  response: R;
  handle(args: { caller: Caller; params: z.output<P>; query: z.output<Q>; body: z.output<B> }): Promise<z.input<R>>;
}

const route = <P extends z.ZodType, Q extends z.ZodType, B extends z.ZodType, R extends z.ZodType>(r: Route<P, Q, B, R>) => r as unknown as Route;

/** Times as ISO 8601 strings, whatever form the domain gives them in. */
const timestamp = z.iso.datetime({ offset: true });
const iso = (t: Date | string) => new Date(t).toISOString();
const isoOrNull = (t: Date | string | null) => (t === null ? null : iso(t));

const saeParams = z.object({ model: slugInput.describe('model slug, e.g. stories260K'), sae: slugInput.describe('SAE slug') });
const featureParams = saeParams.extend({ index: z.coerce.number().pipe(featureIndexInput).describe('feature index') });

const saeSummary = z.object({ slug: z.string(), hookName: z.string(), architecture: z.string(), dSae: z.int(), hasDashboards: z.boolean() });

const tokenWeight = z.object({ id: z.int(), piece: z.string(), value: z.number() });
const example = z.object({
  contextIndex: z.int(),
  /** the tokens of the context as ids and as the pieces the page shows, with the activation at each */
  tokens: z.array(z.int()),
  pieces: z.array(z.string()),
  acts: z.array(z.number()),
  maxAct: z.number(),
  maxPos: z.int(),
});

const proposal = z.object({
  id: z.uuid(),
  label: z.string(),
  /** a person's name, or where a proposal no person wrote came from (provenance.by) */
  author: z.string().nullable(),
  votes: z.int(),
  shown: z.boolean(),
  createdAt: timestamp,
});

/** What every refusal answers, with the HTTP status of its code. */
export const apiError = z.object({ error: z.object({ code: z.string(), message: z.string() }) }).describe('an error');

export const ROUTES: Route[] = [
  route({
    method: 'GET',
    path: '/models',
    summary: 'The models, each with its SAEs',
    scope: 'read',
    response: z.object({
      models: z.array(z.object({ slug: z.string(), architecture: z.string(), contentHash: z.string(), config: z.record(z.string(), z.unknown()), saes: z.array(saeSummary) })),
    }),
    async handle({ caller }) {
      const [models, saes] = await Promise.all([caller.model.list(), caller.model.saes()]);
      return {
        models: models.map((m) => ({
          slug: m.slug,
          architecture: m.architecture,
          contentHash: m.contentHash,
          config: m.config as Record<string, unknown>,
          saes: saes.filter((s) => s.model === m.slug).map(({ model: _m, ...s }) => s),
        })),
      };
    },
  }),

  route({
    method: 'GET',
    path: '/search',
    summary: 'Features whose label or description match the words, best first',
    scope: 'read',
    query: z.object({
      q: z.string().max(500).describe('web-search syntax: words, "a phrase", or, -not'),
      model: slugInput.optional(),
      sae: slugInput.optional(),
      limit: z.coerce.number().pipe(z.int().min(1).max(100)).default(50),
    }),
    response: z.object({
      results: z.array(z.object({ model: z.string(), sae: z.string(), index: z.int(), label: z.string(), snippet: z.string(), density: z.number().nullable() })),
    }),
    async handle({ caller, query }) {
      const hits = await caller.search.text(query);
      return { results: hits.map((h) => ({ model: h.model, sae: h.sae, index: h.index, label: h.label, snippet: h.snippet, density: h.density })) };
    },
  }),

  route({
    method: 'GET',
    path: '/jobs/{id}',
    summary: 'A job: in full for its owner and the maintainers of its SAE, else only its status (redacted)',
    scope: 'read',
    params: z.object({ id: z.uuid('not a job id') }),
    response: z.object({
      id: z.uuid(),
      type: z.string(),
      status: z.enum(['queued', 'running', 'done', 'failed', 'cancelled']),
      progress: z.number(),
      params: z.unknown(),
      result: z.unknown(),
      error: z.string().nullable(),
      redacted: z.boolean(),
      createdAt: timestamp,
      startedAt: timestamp.nullable(),
      finishedAt: timestamp.nullable(),
    }),
    async handle({ caller, params }) {
      const job = await caller.job.get(params);
      return {
        id: job.id,
        type: job.type,
        status: job.status,
        progress: job.progress,
        params: job.params,
        result: job.result,
        error: job.error,
        redacted: job.redacted,
        createdAt: iso(job.createdAt),
        startedAt: isoOrNull(job.startedAt),
        finishedAt: isoOrNull(job.finishedAt),
      };
    },
  }),

  route({
    method: 'GET',
    path: '/{model}/{sae}',
    summary: 'An SAE, with its evals over the current dashboards’ corpus',
    scope: 'read',
    params: saeParams,
    response: z.object({
      model: z.string(),
      slug: z.string(),
      hookName: z.string(),
      architecture: z.string(),
      dIn: z.int(),
      dSae: z.int(),
      contentHash: z.string(),
      labelled: z.int(),
      dashboards: z
        .object({ corpus: z.string(), nTokens: z.number().nullable(), completedAt: timestamp.nullable(), evals: z.record(z.string(), z.unknown()).nullable() })
        .nullable()
        .describe('the current dashboard run (null: none computed yet)'),
    }),
    async handle({ caller, params }) {
      const { sae, labelled, run } = await caller.sae.overview(params);
      return {
        model: sae.modelSlug,
        slug: sae.slug,
        hookName: sae.hookName,
        architecture: sae.architecture,
        dIn: sae.dIn,
        dSae: sae.dSae,
        contentHash: sae.contentHash,
        labelled,
        dashboards: run && { corpus: run.corpusName, nTokens: run.nTokens, completedAt: isoOrNull(run.completedAt), evals: run.evals as Record<string, unknown> | null },
      };
    },
  }),

  route({
    method: 'GET',
    path: '/{model}/{sae}/features',
    summary: 'One page of the feature table (follow `next` as `cursor` for the next page)',
    scope: 'read',
    params: saeParams,
    query: z.object({
      cursor: z.string().max(64).optional().describe('`next` of the previous page'),
      sort: z.enum(FEATURE_SORTS).default('density'),
      dir: z.enum(['asc', 'desc']).default('desc'),
      labelled: z.enum(['any', 'yes', 'no']).default('any'),
      status: z.enum(['all', 'alive', 'dead', 'ultraRare']).default('all'),
      limit: z.coerce.number().pipe(z.int().min(1).max(200)).default(50),
    }),
    response: z.object({
      features: z.array(z.object({ index: z.int(), label: z.string().nullable(), density: z.number(), maxAct: z.number(), encoderBias: z.number(), deCos: z.number() })),
      next: z.string().nullable(),
      total: z.int(),
      capped: z.boolean().describe('total is a lower bound'),
    }),
    async handle({ caller, params, query }) {
      const { cursor, ...rest } = query;
      const page = await caller.sae.features({ ...params, ...rest, after: cursor });
      return {
        features: page.rows.map((r) => ({ index: r.index, label: r.label, density: r.density, maxAct: r.maxAct, encoderBias: r.encoderBias, deCos: r.deCos })),
        next: page.next && cursorToString(page.next),
        total: page.total,
        capped: page.capped,
      };
    },
  }),

  route({
    method: 'GET',
    path: '/{model}/{sae}/{index}',
    summary: 'A feature: label, description, density, logit weights, top and interval examples',
    scope: 'read',
    params: featureParams,
    response: z.object({
      model: z.string(),
      sae: z.string(),
      index: z.int(),
      label: z.string(),
      description: z.string().describe('markdown'),
      revision: z.int().describe('give it as baseRevision when writing the label'),
      density: z.number().nullable(),
      maxAct: z.number().nullable(),
      logits: z.object({ top: z.array(tokenWeight), bottom: z.array(tokenWeight) }).nullable(),
      top: z.array(example),
      intervals: z.array(z.object({ lo: z.number(), hi: z.number(), count: z.int(), examples: z.array(example) })).describe('highest first'),
    }),
    async handle({ caller, params }) {
      const f = await caller.feature.get(params);
      const piece = (id: number) => f.pieces[id] ?? String(id);
      const weights = (ws: { id: number; value: number }[]) => ws.map((w) => ({ id: w.id, piece: piece(w.id), value: w.value }));
      const examples = (es: typeof f.top) =>
        es.map((e) => ({ contextIndex: e.contextIndex, tokens: e.tokens, pieces: e.tokens.map(piece), acts: e.acts, maxAct: e.maxAct, maxPos: e.maxPos }));
      return {
        model: f.model.slug,
        sae: f.sae.slug,
        index: f.index,
        label: f.page.label,
        description: f.page.body,
        revision: f.page.revision,
        density: f.stats?.density ?? null,
        maxAct: f.stats?.maxAct ?? null,
        logits: f.stats && { top: weights(f.stats.logitTop), bottom: weights(f.stats.logitBottom) },
        top: examples(f.top),
        intervals: f.intervals.map((i) => ({ lo: i.lo, hi: i.hi, count: i.count, examples: examples(i.examples) })),
      };
    },
  }),

  route({
    method: 'PUT',
    path: '/{model}/{sae}/{index}/label',
    summary: 'Sets the label (and optionally the description) as a new revision; 409 when the page moved past baseRevision',
    scope: 'write',
    params: featureParams,
    body: z.object({
      label: z.string().trim().max(200, 'the label is longer than 200 characters'),
      description: z.string().max(100_000).optional().describe('markdown; left as it is when absent'),
      summary: z.string().trim().max(500).default('').describe('what changed, for the history'),
      baseRevision: z.int().min(0).describe('the revision the change was made on (GET the feature)'),
    }),
    response: z.object({ revision: z.int() }),
    async handle({ caller, params, body }) {
      // an unchanged description is the one at baseRevision: if the page moved since, the edit conflicts anyway
      const description = body.description ?? (await caller.feature.current(params)).body;
      return caller.feature.edit({ ...params, label: body.label, body: description, summary: body.summary, baseRevision: body.baseRevision });
    },
  }),

  route({
    method: 'GET',
    path: '/{model}/{sae}/{index}/proposals',
    summary: 'The label proposals with their votes',
    scope: 'read',
    params: featureParams,
    response: z.object({ label: z.string(), proposals: z.array(proposal) }),
    async handle({ caller, params }) {
      const standing = await caller.wiki.proposals(params);
      return {
        label: standing.label,
        proposals: standing.proposals.map((p) => ({
          id: p.id,
          label: p.label,
          author: p.provenance?.by ?? p.author?.name ?? null,
          votes: p.votes,
          shown: p.shown,
          createdAt: iso(p.createdAt),
        })),
      };
    },
  }),

  route({
    method: 'POST',
    path: '/{model}/{sae}/{index}/proposals',
    summary: 'Proposes a label (others vote on it)',
    scope: 'write',
    status: 201,
    params: featureParams,
    body: z.object({ label: z.string().trim().min(1, 'the label is empty').max(200, 'the label is longer than 200 characters') }),
    response: z.object({ id: z.uuid() }),
    handle: ({ caller, params, body }) => caller.wiki.propose({ ...params, label: body.label }),
  }),

  route({
    method: 'POST',
    path: '/{model}/{sae}/{index}/vote',
    summary: 'Votes for a proposal (one vote per account and feature: voting again moves it)',
    scope: 'write',
    params: featureParams,
    body: z.object({ proposalId: z.uuid('not a proposal id') }),
    response: z.object({ labelChanged: z.string().nullable().describe('the label the vote made the shown one'), revision: z.int().nullable() }),
    handle: ({ caller, params, body }) => caller.wiki.vote({ ...params, proposalId: body.proposalId }),
  }),
];

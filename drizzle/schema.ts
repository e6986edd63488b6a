/**
 * The one schema module: auth tables (shaped as @auth/drizzle-adapter expects) and the domain.
 * Migrations in drizzle/migrations are generated from this file by `npm run db:generate`.
 */
import { sql } from 'drizzle-orm';
import {
  bigint,
  boolean,
  customType,
  doublePrecision,
  index,
  integer,
  jsonb,
  pgEnum,
  pgTable,
  primaryKey,
  real,
  smallint,
  text,
  timestamp,
  unique,
  uniqueIndex,
  uuid,
} from 'drizzle-orm/pg-core';
import { bytesToTokens, tokensToBytes } from '../server/context-tokens';

/** Raw bytes (per-token activations stored compactly). */
const bytea = customType<{ data: Buffer; driverData: Buffer }>({ dataType: () => 'bytea' });
/** A context's token ids, stored as little-endian int32 bytes (server/context-tokens.ts). */
const tokenBytes = customType<{ data: number[]; driverData: Buffer }>({ dataType: () => 'bytea', toDriver: tokensToBytes, fromDriver: bytesToTokens });

export const roleEnum = pgEnum('role', ['viewer', 'editor', 'admin']);

export const users = pgTable('user', {
  id: text('id').primaryKey().$defaultFn(() => crypto.randomUUID()),
  name: text('name'),
  email: text('email').unique(),
  emailVerified: timestamp('emailVerified', { mode: 'date', withTimezone: true }),
  image: text('image'),
  /** argon2id hash; null for accounts that only sign in through an OAuth provider */
  passwordHash: text('password_hash'),
  role: roleEnum('role').notNull().default('viewer'),
  disabled: boolean('disabled').notNull().default(false),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  /**
   * The @handle mentions name: lower case, unique, what server/markdown.ts's mention pattern matches. Sign-up picks
   * one from the name (or the email's local part) with a numeric suffix when taken; '' on insert (OAuth accounts
   * created by the adapter) has the user_handle_default trigger pick one the same way (migration 0004).
   */
  handle: text('handle').notNull().default(''),
}, (t) => [uniqueIndex('user_handle_idx').on(t.handle)]);

export const accounts = pgTable(
  'account',
  {
    userId: text('userId')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    type: text('type').notNull(),
    provider: text('provider').notNull(),
    providerAccountId: text('providerAccountId').notNull(),
    refresh_token: text('refresh_token'),
    access_token: text('access_token'),
    expires_at: integer('expires_at'),
    token_type: text('token_type'),
    scope: text('scope'),
    id_token: text('id_token'),
    session_state: text('session_state'),
  },
  (t) => [primaryKey({ columns: [t.provider, t.providerAccountId] })],
);

export const sessions = pgTable('session', {
  sessionToken: text('sessionToken').primaryKey(),
  userId: text('userId')
    .notNull()
    .references(() => users.id, { onDelete: 'cascade' }),
  expires: timestamp('expires', { mode: 'date', withTimezone: true }).notNull(),
});

export const verificationTokens = pgTable(
  'verificationToken',
  {
    identifier: text('identifier').notNull(),
    token: text('token').notNull(),
    expires: timestamp('expires', { mode: 'date', withTimezone: true }).notNull(),
  },
  (t) => [primaryKey({ columns: [t.identifier, t.token] })],
);

export const architectureEnum = pgEnum('architecture', ['llama', 'gpt2']);

/** A language model on disk, registered by slug (the first segment of every feature address). */
export const models = pgTable('model', {
  id: uuid('id').primaryKey().defaultRandom(),
  slug: text('slug').notNull().unique(),
  architecture: architectureEnum('architecture').notNull(),
  /** directory holding the weights and tokenizer */
  path: text('path').notNull(),
  /** ModelConfig as the worker reported it (dims, layers, vocab, context length, hook names) */
  config: jsonb('config').notNull(),
  /** sha256 over the weight and tokenizer files: provenance of every computation */
  contentHash: text('content_hash').notNull(),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
});

/**
 * A model's vocabulary as display pieces (`pieces[id]` is token id's piece, as the worker's tokenizer shows it),
 * written at registration: the web tier shows token strings without loading the tokenizer. A table of its own so
 * that reading model rows never drags 50k strings along.
 */
export const modelVocabs = pgTable('model_vocab', {
  modelId: uuid('model_id')
    .primaryKey()
    .references(() => models.id, { onDelete: 'cascade' }),
  /** the tokenizer files' hash part of the model's content hash: pieces are rewritten when it changes */
  contentHash: text('content_hash').notNull(),
  pieces: text('pieces').array().notNull(),
});

export const jobStatusEnum = pgEnum('job_status', ['queued', 'running', 'done', 'failed', 'cancelled']);

/**
 * A computation someone asked for. pg-boss owns delivery and retries; this row is the domain
 * record the UI reads: parameters, status, progress, result or error, and provenance.
 * Its id is the pg-boss job id.
 */
export const jobs = pgTable(
  'job',
  {
    id: uuid('id').primaryKey(),
    type: text('type').notNull(),
    status: jobStatusEnum('status').notNull().default('queued'),
    params: jsonb('params').notNull(),
    progress: real('progress').notNull().default(0),
    /** what the job reports while running (phase, tokens done, tokens/s, ETA) */
    progressDetail: jsonb('progress_detail'),
    result: jsonb('result'),
    error: text('error'),
    /** model and SAE content hashes, code version, backend */
    provenance: jsonb('provenance'),
    userId: text('user_id').references(() => users.id, { onDelete: 'set null' }),
    /** the worker running it; a job whose worker stopped beating is handed to another */
    workerId: text('worker_id'),
    modelId: uuid('model_id').references(() => models.id, { onDelete: 'cascade' }),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    startedAt: timestamp('started_at', { withTimezone: true }),
    finishedAt: timestamp('finished_at', { withTimezone: true }),
  },
  (t) => [
    index('job_model_created_idx').on(t.modelId, t.createdAt.desc()),
    // Per-user rate limits on compute count a user's recent jobs.
    index('job_user_created_idx').on(t.userId, t.createdAt.desc()),
  ],
);

/** Compute workers announce themselves and beat every few seconds; /api/health reads this. */
export const workers = pgTable('worker', {
  id: text('id').primaryKey(),
  backend: text('backend').notNull(),
  host: text('host').notNull(),
  pid: integer('pid').notNull(),
  startedAt: timestamp('started_at', { withTimezone: true }).notNull().defaultNow(),
  lastSeen: timestamp('last_seen', { withTimezone: true }).notNull().default(sql`now()`),
});

/**
 * An SAE on one hook of one model (Neuronpedia calls it a source). Feature address: model/sae/index.
 * The wiki shows the dashboard run `currentRunId`; a re-run swaps it in one statement when complete.
 */
export const saes = pgTable(
  'sae',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    modelId: uuid('model_id')
      .notNull()
      .references(() => models.id, { onDelete: 'cascade' }),
    slug: text('slug').notNull(),
    hookName: text('hook_name').notNull(),
    architecture: text('architecture').notNull(),
    dIn: integer('d_in').notNull(),
    dSae: integer('d_sae').notNull(),
    /** cfg.json as written by SAELens */
    cfg: jsonb('cfg').notNull(),
    path: text('path').notNull(),
    contentHash: text('content_hash').notNull(),
    /** reconstruction with the cfg as given and with apply_b_dec_to_input flipped, and warnings */
    importCheck: jsonb('import_check'),
    currentRunId: uuid('current_run_id'),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [unique('sae_model_slug').on(t.modelId, t.slug)],
);

/** Token sequences of fixed context length, tokenized with the model's tokenizer. */
export const corpora = pgTable(
  'corpus',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    modelId: uuid('model_id')
      .notNull()
      .references(() => models.id, { onDelete: 'cascade' }),
    name: text('name').notNull(),
    contextSize: integer('context_size').notNull(),
    prependBos: boolean('prepend_bos').notNull(),
    /** sha256 over the token ids: two imports of the same tokens are the same corpus */
    contentHash: text('content_hash').notNull(),
    nContexts: integer('n_contexts').notNull(),
    nTokens: bigint('n_tokens', { mode: 'number' }).notNull(),
    /** where the text came from (file name, or the sampling seed and temperature) */
    source: jsonb('source').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [unique('corpus_model_hash').on(t.modelId, t.contentHash)],
);

export const corpusContexts = pgTable(
  'corpus_context',
  {
    /**
     * the corpus: checked, and deleted with it, by statement-level triggers rather than a foreign key (migration
     * example_statement_checks), whose per-row check was a third of PostgreSQL's time in an import's COPY
     */
    corpusId: uuid('corpus_id').notNull(),
    index: integer('index').notNull(),
    tokens: tokenBytes('tokens').notNull(),
  },
  (t) => [primaryKey({ columns: [t.corpusId, t.index] })],
);

/** An imported dashboard run's origin: pages say "imported from <kind> export <path>, N tokens as stated by the source". */
export interface DashboardRunSource {
  kind: 'neuronpedia' | 'saedashboard';
  /** the directory or base URL imported */
  path: string;
  /** the export's own names for the model and the SAE (Neuronpedia's modelId and source id) */
  modelId: string | null;
  sourceId: string | null;
  /** tokens the densities were measured over, as the source states them (null: it does not say) */
  nTokensStated: number | null;
  /** sha256 over the input files: importing the same files again is a no-op */
  inputsHash: string;
  /**
   * Token strings of the examples and logit tables that are not pieces of the model's vocabulary: such a token is
   * stored as id −1−k, k its place in this list, so pages and exports show the source's string.
   */
  extraPieces: string[];
  /** example tokens that were stored as extra pieces */
  unmatchedTokens: number;
}

export const dashboardRunStatusEnum = pgEnum('dashboard_run_status', ['running', 'complete', 'cancelled', 'failed']);

/** One computation of an SAE's dashboards over a corpus. Rows below belong to a run, never half-visible. */
export const dashboardRuns = pgTable(
  'dashboard_run',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    saeId: uuid('sae_id')
      .notNull()
      .references(() => saes.id, { onDelete: 'cascade' }),
    corpusId: uuid('corpus_id')
      .notNull()
      .references(() => corpora.id, { onDelete: 'cascade' }),
    jobId: uuid('job_id').references(() => jobs.id, { onDelete: 'set null' }),
    status: dashboardRunStatusEnum('status').notNull().default('running'),
    params: jsonb('params').notNull(),
    /** whole-SAE evals (SaeEvals), with token counts and the by-position breakdown */
    evals: jsonb('evals'),
    timings: jsonb('timings'),
    nTokens: bigint('n_tokens', { mode: 'number' }),
    /** where an imported run came from (null: computed here) */
    source: jsonb('source').$type<DashboardRunSource>(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    completedAt: timestamp('completed_at', { withTimezone: true }),
  },
  (t) => [index('dashboard_run_sae_idx').on(t.saeId, t.createdAt.desc())],
);

export const dashboardShardStatusEnum = pgEnum('dashboard_shard_status', ['queued', 'running', 'done', 'failed']);
/**
 * What a shard computes, for a range of the run's features: the first pass over a range of the corpus
 * ('statistics'), the second ('examples', which waits for every 'statistics' shard of its features: it needs their
 * maxima, top and random contexts), and the dashboards from both passes' parts merged ('features', which waits for
 * both); or, for all features, the evals' first pass over a range of the corpus ('evals'), or their mean-ablated pass
 * ('mean-ablation', which waits for every 'evals' shard: it needs the corpus mean they measure).
 */
export const dashboardShardKindEnum = pgEnum('dashboard_shard_kind', ['features', 'evals', 'mean-ablation', 'statistics', 'examples']);

/**
 * A piece of a dashboard run that any worker may claim (`FOR UPDATE SKIP LOCKED`). A shard's dashboards are stored
 * with the run's rows, and its eval sums or part in the row, in the transaction that marks it done; a running shard whose
 * worker stopped beating is claimed again. Deleted with its run (cancelled, failed, retried).
 */
export const dashboardShards = pgTable(
  'dashboard_shard',
  {
    runId: uuid('run_id')
      .notNull()
      .references(() => dashboardRuns.id, { onDelete: 'cascade' }),
    /** 0-based; the order shards are claimed in, and the evals' sums merged in */
    index: integer('index').notNull(),
    kind: dashboardShardKindEnum('kind').notNull().default('features'),
    /** positions first..first+count−1 in the run's feature list (params.features, or 0..d_sae−1); none for the evals */
    first: integer('first').notNull(),
    count: integer('count').notNull(),
    /** contexts contextFirst..contextFirst+contextCount−1 of the corpus */
    contextFirst: integer('context_first').notNull().default(0),
    contextCount: integer('context_count').notNull().default(0),
    status: dashboardShardStatusEnum('status').notNull().default('queued'),
    /** the worker (heartbeat id) running or that ran it */
    workerId: text('worker_id'),
    /** token positions run through the model, as the computation counts them (a pass's or an eval shard's range, a merge's ablations) */
    tokensDone: bigint('tokens_done', { mode: 'number' }).notNull().default(0),
    tokensTotal: bigint('tokens_total', { mode: 'number' }).notNull().default(0),
    tokensPerSecond: doublePrecision('tokens_per_second').notNull().default(0),
    /** the phase its worker is in */
    phase: text('phase'),
    /** an eval shard's EvalSums (compute/dashboards/evals.ts), merged into the run's evals in index order */
    evals: jsonb('evals'),
    /** a statistics or examples shard's part of its pass's bookkeeping (compute/dashboards/parts.ts), read by the shards that wait for it */
    part: bytea('part'),
    /** DashboardTimings of its computation */
    timings: jsonb('timings'),
    error: text('error'),
    /** when its run's worker planned it: with startedAt, how long it waited for a worker (the benchmark reports it) */
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    /** when a worker last claimed it */
    startedAt: timestamp('started_at', { withTimezone: true }),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.runId, t.index] })],
);

/** A feature's computed data in one dashboard run. */
export const features = pgTable(
  'feature',
  {
    runId: uuid('run_id')
      .notNull()
      .references(() => dashboardRuns.id, { onDelete: 'cascade' }),
    saeId: uuid('sae_id')
      .notNull()
      .references(() => saes.id, { onDelete: 'cascade' }),
    index: integer('index').notNull(),
    nTokens: bigint('n_tokens', { mode: 'number' }).notNull(),
    nonzeroCount: bigint('nonzero_count', { mode: 'number' }).notNull(),
    /** of nonzero_count, the firings at BOS tokens (null: computed before BOS was counted) */
    bosCount: bigint('bos_count', { mode: 'number' }),
    /** BOS tokens were left out of the examples, max_act and the histogram (density counts them either way) */
    bosExcluded: boolean('bos_excluded').notNull().default(false),
    density: doublePrecision('density').notNull(),
    maxAct: real('max_act').notNull(),
    meanAct: real('mean_act').notNull(),
    meanActAll: real('mean_act_all').notNull(),
    /** {edges, counts} of the non-zero activations */
    histogram: jsonb('histogram').notNull(),
    /** the quantile intervals [{lo, hi, count}]; their examples are rows of feature_example */
    intervals: jsonb('intervals').notNull(),
    logitTop: jsonb('logit_top').notNull(),
    logitBottom: jsonb('logit_bottom').notNull(),
    /** the logit weights have the final norm folded into W_U (TransformerLens fold_ln); false: raw W_dec·W_U */
    logitFoldLn: boolean('logit_fold_ln').notNull().default(false),
    logitHistogram: jsonb('logit_histogram').notNull(),
    encoderBias: real('encoder_bias').notNull(),
    encoderNorm: real('encoder_norm').notNull(),
    decoderNorm: real('decoder_norm').notNull(),
    deDot: real('de_dot').notNull(),
    deCos: real('de_cos').notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.runId, t.index] }),
    // Keyset pagination of the SAE feature table: one index per sort key, ties broken by index.
    index('feature_sae_density_idx').on(t.runId, t.density, t.index),
    index('feature_run_max_act_idx').on(t.runId, t.maxAct, t.index),
    index('feature_run_encoder_bias_idx').on(t.runId, t.encoderBias, t.index),
    index('feature_run_de_cos_idx').on(t.runId, t.deCos, t.index),
    // Token search: "which features have this token among their top logits" (logit_top @> '[{"id": T}]').
    index('feature_logit_top_idx').using('gin', sql`${t.logitTop} jsonb_path_ops`),
  ],
);

export const exampleKindEnum = pgEnum('example_kind', ['top', 'interval', 'random']);

/**
 * A context shown for a feature: its tokens live in corpus_context; the per-token activations are
 * stored here as little-endian float32 bytes (and, for top examples, the ablation loss change).
 */
export const featureExamples = pgTable(
  'feature_example',
  {
    /** the run: checked, and deleted with it, by statement-level triggers, as corpus_context's corpus_id */
    runId: uuid('run_id').notNull(),
    featureIndex: integer('feature_index').notNull(),
    kind: exampleKindEnum('kind').notNull(),
    /** the quantile interval (interval examples), -1 for top and random examples */
    interval: smallint('interval').notNull(),
    rank: smallint('rank').notNull(),
    contextIndex: integer('context_index').notNull(),
    /** the drawn token of an interval example */
    position: integer('position'),
    maxAct: real('max_act').notNull(),
    maxPos: integer('max_pos').notNull(),
    acts: bytea('acts').notNull(),
    lossDelta: bytea('loss_delta'),
    /** the token at maxPos (the one the example peaks on): token search, "which features fire most on this token" */
    maxToken: integer('max_token'),
  },
  (t) => [
    primaryKey({ columns: [t.runId, t.featureIndex, t.kind, t.interval, t.rank] }),
    index('feature_example_max_token_idx')
      .on(t.maxToken, t.runId, t.featureIndex, t.maxAct)
      .where(sql`${t.kind} = 'top'`),
  ],
);

/**
 * Decoder rows W_dec[index] of an SAE whose weight files Lexicon cannot read, as an import brought them (Neuronpedia's
 * feature `vector`), so that what needs only the decoder (similar features, decoder norms, exports) works without the
 * files. An SAE whose files are readable keeps none: its files are the truth.
 */
export const saeDecoderRows = pgTable(
  'sae_decoder_row',
  {
    saeId: uuid('sae_id')
      .notNull()
      .references(() => saes.id, { onDelete: 'cascade' }),
    index: integer('index').notNull(),
    /** d_out (d_in but for a transcoder) little-endian float32s */
    vector: bytea('vector').notNull(),
  },
  (t) => [primaryKey({ columns: [t.saeId, t.index] })],
);

export const similarityKindEnum = pgEnum('similarity_kind', ['decoder', 'encoder']);

/**
 * A feature's nearest features by cosine (docs/compute.md#similar-features): of its decoder row among another SAE's
 * decoder rows (or its own SAE's), or of its encoder column among its own SAE's. Computed from the weights by a whole-SAE
 * dashboard run; each (sae, other SAE, kind) set is replaced at once when the run completes.
 */
export const similarFeatures = pgTable(
  'similar_feature',
  {
    saeId: uuid('sae_id')
      .notNull()
      .references(() => saes.id, { onDelete: 'cascade' }),
    index: integer('index').notNull(),
    kind: similarityKindEnum('kind').notNull(),
    /** the SAE the neighbour belongs to (the same SAE for within-SAE neighbours) */
    otherSaeId: uuid('other_sae_id')
      .notNull()
      .references(() => saes.id, { onDelete: 'cascade' }),
    otherIndex: integer('other_index').notNull(),
    cosine: real('cosine').notNull(),
    /** 0 for the most similar */
    rank: smallint('rank').notNull(),
  },
  (t) => [
    // the feature page reads one feature's neighbours in every set
    primaryKey({ columns: [t.saeId, t.index, t.kind, t.otherSaeId, t.rank] }),
    // deleting an SAE removes the neighbours other SAEs' features have in it
    index('similar_feature_other_sae_idx').on(t.otherSaeId),
  ],
);

const tsvector = customType<{ data: string }>({ dataType: () => 'tsvector' });

/**
 * The human layer of a feature (label and markdown description) as it stands now: the latest
 * revision, kept here so pages and search read one row. Every change appends a revision.
 */
export const featurePages = pgTable(
  'feature_page',
  {
    saeId: uuid('sae_id')
      .notNull()
      .references(() => saes.id, { onDelete: 'cascade' }),
    index: integer('index').notNull(),
    label: text('label').notNull().default(''),
    body: text('body').notNull().default(''),
    /** the body rendered to HTML when written (server/markdown.ts renderStored; feature links neutral, chips added
     * on read); null for rows written before it existed, rendered and stored on first read */
    bodyHtml: text('body_html'),
    /** the revision this state is; an edit names the revision it started from */
    revision: integer('revision').notNull().default(0),
    updatedBy: text('updated_by').references(() => users.id, { onDelete: 'set null' }),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
    search: tsvector('search').generatedAlwaysAs(
      sql`setweight(to_tsvector('english', coalesce(label, '')), 'A') || setweight(to_tsvector('english', coalesce(body, '')), 'B')`,
    ),
  },
  (t) => [
    primaryKey({ columns: [t.saeId, t.index] }),
    index('feature_page_search_idx').using('gin', t.search),
    // Labelling progress (labelled / total per SAE), the "labelled" filter and the labelling queue.
    index('feature_page_labelled_idx').on(t.saeId, t.index).where(sql`${t.label} <> ''`),
  ],
);

export const featureRevisions = pgTable(
  'feature_revision',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    saeId: uuid('sae_id')
      .notNull()
      .references(() => saes.id, { onDelete: 'cascade' }),
    index: integer('index').notNull(),
    revision: integer('revision').notNull(),
    label: text('label').notNull(),
    body: text('body').notNull(),
    summary: text('summary').notNull().default(''),
    authorId: text('author_id').references(() => users.id, { onDelete: 'set null' }),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [unique('feature_revision_number').on(t.saeId, t.index, t.revision), index('feature_revision_recent_idx').on(t.createdAt.desc())],
);

/** Named, shareable collections of features, with a note per entry. */
export const featureLists = pgTable('feature_list', {
  id: uuid('id').primaryKey().defaultRandom(),
  name: text('name').notNull(),
  description: text('description').notNull().default(''),
  ownerId: text('owner_id').references(() => users.id, { onDelete: 'set null' }),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
});

export const featureListEntries = pgTable(
  'feature_list_entry',
  {
    listId: uuid('list_id')
      .notNull()
      .references(() => featureLists.id, { onDelete: 'cascade' }),
    saeId: uuid('sae_id')
      .notNull()
      .references(() => saes.id, { onDelete: 'cascade' }),
    index: integer('index').notNull(),
    note: text('note').notNull().default(''),
    position: integer('position').notNull(),
    addedAt: timestamp('added_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.listId, t.saeId, t.index] })],
);

// ---------------------------------------------------------------------------------------------------------------
// Collaboration: teams and visibility, label proposals, discussions, feature links, hypotheses with evidence,
// watches and notifications, the audit log. Who may do what is decided in one place: server/authz.ts.

export const teamRoleEnum = pgEnum('team_role', ['viewer', 'editor', 'maintainer']);
/** public: everyone, signed in or not; team: the owning team's members; private: the owner */
export const visibilityEnum = pgEnum('visibility', ['public', 'team', 'private']);

export const teams = pgTable('team', {
  id: uuid('id').primaryKey().defaultRandom(),
  slug: text('slug').notNull().unique(),
  name: text('name').notNull(),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
});

export const teamMembers = pgTable(
  'team_member',
  {
    teamId: uuid('team_id')
      .notNull()
      .references(() => teams.id, { onDelete: 'cascade' }),
    userId: text('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    role: teamRoleEnum('role').notNull().default('viewer'),
    addedAt: timestamp('added_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.teamId, t.userId] }), index('team_member_user_idx').on(t.userId)],
);

/**
 * A pending invitation to a team, by email: whether or not an account has that email (the inviter is not told).
 * The account with the email (now or once it signs up) accepts or declines it on /teams; accepting makes it a member.
 */
export const teamInvitations = pgTable(
  'team_invitation',
  {
    teamId: uuid('team_id')
      .notNull()
      .references(() => teams.id, { onDelete: 'cascade' }),
    /** normalised (trimmed, lower case) */
    email: text('email').notNull(),
    role: teamRoleEnum('role').notNull().default('viewer'),
    invitedBy: text('invited_by').references(() => users.id, { onDelete: 'set null' }),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.teamId, t.email] }), index('team_invitation_email_idx').on(t.email)],
);

/**
 * Who may see a model or an SAE (one row per resource; none means public with no team). An SAE is visible when
 * both it and its model are. Kept beside the resources so registering them stays as it was.
 */
export const resourceAccess = pgTable(
  'resource_access',
  {
    /** 'model' or 'sae' */
    kind: text('kind').notNull(),
    resourceId: uuid('resource_id').notNull(),
    teamId: uuid('team_id').references(() => teams.id, { onDelete: 'set null' }),
    ownerId: text('owner_id').references(() => users.id, { onDelete: 'set null' }),
    visibility: visibilityEnum('visibility').notNull().default('public'),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.kind, t.resourceId] })],
);

/** A label someone proposes for a feature; votes pick the one shown (feature_page.label). */
/**
 * A label proposal made by a machine or brought in from elsewhere. `by` is how the page names its author
 * ("auto (gpt-4o-mini)", "Neuronpedia export (gpt-4o-mini)"); the rest is kept so a reader can judge it.
 */
export interface ProposalProvenance {
  by: string;
  source: 'auto' | 'import';
  /** the model that wrote the explanation */
  model?: string;
  /** the explanation method or type, as the source names it */
  type?: string;
  /** the prompt sent and the answer received (automatic explanations) */
  prompt?: string;
  answer?: string;
  /** scores as the source reports them, each named by its method, e.g. { detection: { balancedAccuracy, n } } */
  scores?: Record<string, unknown>;
  /** where it came from: an import's source path or URL, a job id */
  from?: string;
  /** an imported explanation's line as the source gave it (JSON text): a Neuronpedia export writes it back the same */
  explanation?: string;
}

export const labelProposals = pgTable(
  'label_proposal',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    saeId: uuid('sae_id')
      .notNull()
      .references(() => saes.id, { onDelete: 'cascade' }),
    index: integer('index').notNull(),
    label: text('label').notNull(),
    authorId: text('author_id').references(() => users.id, { onDelete: 'set null' }),
    /** where a proposal no person wrote came from (an automatic explanation, an import); null for a person's */
    provenance: jsonb('provenance').$type<ProposalProvenance>(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [unique('label_proposal_text').on(t.saeId, t.index, t.label)],
);

/** One vote per user per feature: voting for another proposal moves the vote. */
export const labelVotes = pgTable(
  'label_vote',
  {
    saeId: uuid('sae_id')
      .notNull()
      .references(() => saes.id, { onDelete: 'cascade' }),
    index: integer('index').notNull(),
    userId: text('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    proposalId: uuid('proposal_id')
      .notNull()
      .references(() => labelProposals.id, { onDelete: 'cascade' }),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.saeId, t.index, t.userId] }), index('label_vote_proposal_idx').on(t.proposalId)],
);

export const hypothesisStatusEnum = pgEnum('hypothesis_status', ['open', 'supported', 'refuted', 'inconclusive']);

/** A statement about one or more features of one model, settled by evidence. */
export const hypotheses = pgTable(
  'hypothesis',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    modelId: uuid('model_id')
      .notNull()
      .references(() => models.id, { onDelete: 'cascade' }),
    statement: text('statement').notNull(),
    /** markdown: the reasoning, how to test it */
    body: text('body').notNull().default(''),
    /** the body rendered to HTML when written (server/markdown.ts renderStored; feature links neutral, chips added
     * on read); null for rows written before it existed, rendered and stored on first read */
    bodyHtml: text('body_html'),
    status: hypothesisStatusEnum('status').notNull().default('open'),
    statusChangedBy: text('status_changed_by').references(() => users.id, { onDelete: 'set null' }),
    statusChangedAt: timestamp('status_changed_at', { withTimezone: true }),
    authorId: text('author_id').references(() => users.id, { onDelete: 'set null' }),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [index('hypothesis_status_idx').on(t.status, t.createdAt.desc()), index('hypothesis_author_idx').on(t.authorId)],
);

export const hypothesisFeatures = pgTable(
  'hypothesis_feature',
  {
    hypothesisId: uuid('hypothesis_id')
      .notNull()
      .references(() => hypotheses.id, { onDelete: 'cascade' }),
    saeId: uuid('sae_id')
      .notNull()
      .references(() => saes.id, { onDelete: 'cascade' }),
    index: integer('index').notNull(),
  },
  (t) => [primaryKey({ columns: [t.hypothesisId, t.saeId, t.index] }), index('hypothesis_feature_feature_idx').on(t.saeId, t.index)],
);

/** Every status a hypothesis has had: who changed it, when, and why. */
export const hypothesisStatusChanges = pgTable(
  'hypothesis_status_change',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    hypothesisId: uuid('hypothesis_id')
      .notNull()
      .references(() => hypotheses.id, { onDelete: 'cascade' }),
    status: hypothesisStatusEnum('status').notNull(),
    note: text('note').notNull().default(''),
    userId: text('user_id').references(() => users.id, { onDelete: 'set null' }),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [index('hypothesis_status_change_idx').on(t.hypothesisId, t.createdAt)],
);

export const hypothesisVotes = pgTable(
  'hypothesis_vote',
  {
    hypothesisId: uuid('hypothesis_id')
      .notNull()
      .references(() => hypotheses.id, { onDelete: 'cascade' }),
    userId: text('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    /** +1 agrees, -1 disagrees */
    value: smallint('value').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.hypothesisId, t.userId] })],
);

export const evidenceKindEnum = pgEnum('evidence_kind', ['activations', 'ablate', 'steer', 'steer-generate', 'dashboard']);

/**
 * A saved computation attached to a hypothesis: its inputs, results and provenance (model and SAE content
 * hashes, code version, backend), so anyone can re-run it and see whether it still agrees.
 */
export const evidence = pgTable(
  'evidence',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    hypothesisId: uuid('hypothesis_id')
      .notNull()
      .references(() => hypotheses.id, { onDelete: 'cascade' }),
    kind: evidenceKindEnum('kind').notNull(),
    saeId: uuid('sae_id').references(() => saes.id, { onDelete: 'set null' }),
    featureIndex: integer('feature_index'),
    /** the job it was saved from (null for a dashboard snapshot) */
    jobId: uuid('job_id').references(() => jobs.id, { onDelete: 'set null' }),
    params: jsonb('params').notNull(),
    result: jsonb('result').notNull(),
    provenance: jsonb('provenance').notNull(),
    /** what the evidence shows, in the saver's words (markdown) */
    note: text('note').notNull().default(''),
    addedBy: text('added_by').references(() => users.id, { onDelete: 'set null' }),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [index('evidence_hypothesis_idx').on(t.hypothesisId, t.createdAt)],
);

/** A re-run of a piece of evidence and whether it reproduced the saved result. */
export const evidenceReruns = pgTable(
  'evidence_rerun',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    evidenceId: uuid('evidence_id')
      .notNull()
      .references(() => evidence.id, { onDelete: 'cascade' }),
    jobId: uuid('job_id').references(() => jobs.id, { onDelete: 'set null' }),
    /** null until the job finishes */
    agrees: boolean('agrees'),
    /** how it compared: largest absolute difference, provenance differences */
    comparison: jsonb('comparison'),
    requestedBy: text('requested_by').references(() => users.id, { onDelete: 'set null' }),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [index('evidence_rerun_evidence_idx').on(t.evidenceId, t.createdAt.desc())],
);

export const threadKindEnum = pgEnum('thread_kind', ['feature', 'sae', 'hypothesis']);

/**
 * A comment in the thread of a feature, an SAE or a hypothesis; replies name their parent. Deleting keeps the row
 * as a tombstone (deleted_at set, body emptied) so the thread's shape stays.
 */
export const comments = pgTable(
  'comment',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    threadKind: threadKindEnum('thread_kind').notNull(),
    /** feature and SAE threads */
    saeId: uuid('sae_id').references(() => saes.id, { onDelete: 'cascade' }),
    /** feature threads */
    featureIndex: integer('feature_index'),
    /** hypothesis threads */
    hypothesisId: uuid('hypothesis_id').references(() => hypotheses.id, { onDelete: 'cascade' }),
    parentId: uuid('parent_id'),
    authorId: text('author_id').references(() => users.id, { onDelete: 'set null' }),
    body: text('body').notNull(),
    /** the body rendered to HTML when written (server/markdown.ts renderStored; feature links neutral, chips added
     * on read); null for rows written before it existed, rendered and stored on first read */
    bodyHtml: text('body_html'),
    /** bumped by each edit; earlier bodies are in comment_revision */
    revision: integer('revision').notNull().default(0),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    editedAt: timestamp('edited_at', { withTimezone: true }),
    deletedAt: timestamp('deleted_at', { withTimezone: true }),
    deletedBy: text('deleted_by').references(() => users.id, { onDelete: 'set null' }),
  },
  (t) => [
    index('comment_feature_idx').on(t.saeId, t.featureIndex, t.createdAt),
    index('comment_hypothesis_idx').on(t.hypothesisId, t.createdAt),
    index('comment_author_idx').on(t.authorId, t.createdAt.desc()),
  ],
);

/** The earlier bodies of an edited comment (its visible history). */
export const commentRevisions = pgTable(
  'comment_revision',
  {
    commentId: uuid('comment_id')
      .notNull()
      .references(() => comments.id, { onDelete: 'cascade' }),
    revision: integer('revision').notNull(),
    body: text('body').notNull(),
    /** the body rendered to HTML when written (server/markdown.ts renderStored; feature links neutral, chips added
     * on read); null for rows written before it existed, rendered and stored on first read */
    bodyHtml: text('body_html'),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull(),
  },
  (t) => [primaryKey({ columns: [t.commentId, t.revision] })],
);

export const linkSourceEnum = pgEnum('link_source', ['comment', 'hypothesis', 'feature_page']);

/**
 * A feature link written in markdown (`[[model/sae/index]]` or a pasted feature URL), by address, so links to
 * features that do not exist (yet) are kept too. Rewritten whenever the source's text changes; feature pages read
 * their backlinks ("discussed in") from here.
 */
export const featureLinks = pgTable(
  'feature_link',
  {
    sourceKind: linkSourceEnum('source_kind').notNull(),
    /** comment id, hypothesis id, or `${saeId}/${index}` for a feature page */
    sourceId: text('source_id').notNull(),
    modelSlug: text('model_slug').notNull(),
    saeSlug: text('sae_slug').notNull(),
    index: integer('index').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ columns: [t.sourceKind, t.sourceId, t.modelSlug, t.saeSlug, t.index] }),
    index('feature_link_target_idx').on(t.modelSlug, t.saeSlug, t.index),
  ],
);

export const watchKindEnum = pgEnum('watch_kind', ['feature', 'sae', 'hypothesis']);

/** Watching a feature (`${saeId}/${index}`), an SAE (its id) or a hypothesis (its id) brings notifications. */
export const watches = pgTable(
  'watch',
  {
    userId: text('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    kind: watchKindEnum('kind').notNull(),
    targetId: text('target_id').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.userId, t.kind, t.targetId] }), index('watch_target_idx').on(t.kind, t.targetId)],
);

export const notifications = pgTable(
  'notification',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    userId: text('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    /** 'mention', 'comment', 'label', 'hypothesis-status', 'evidence', 'job' */
    kind: text('kind').notNull(),
    actorId: text('actor_id').references(() => users.id, { onDelete: 'set null' }),
    /** one line for the notifications page */
    summary: text('summary').notNull(),
    /** where it happened (a page path) */
    url: text('url').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    readAt: timestamp('read_at', { withTimezone: true }),
  },
  (t) => [
    index('notification_user_idx').on(t.userId, t.createdAt.desc()),
    index('notification_unread_idx').on(t.userId).where(sql`${t.readAt} is null`),
  ],
);

/** Role, membership and visibility changes: who did what to whom, and when. */
export const auditLog = pgTable(
  'audit_log',
  {
    id: bigint('id', { mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
    actorId: text('actor_id').references(() => users.id, { onDelete: 'set null' }),
    action: text('action').notNull(),
    /** 'user', 'team', 'model', 'sae' */
    targetKind: text('target_kind').notNull(),
    targetId: text('target_id').notNull(),
    detail: jsonb('detail').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [index('audit_log_created_idx').on(t.createdAt.desc())],
);

/**
 * Failed sign-ins, per account (the normalised email, known or not) and per client address: after a few, each
 * further failure doubles the wait before the next try (server/signin-throttle.ts). Shared by every web process.
 */
export const signInFailures = pgTable(
  'sign_in_failure',
  {
    kind: text('kind', { enum: ['account', 'address'] }).notNull(),
    key: text('key').notNull(),
    failures: integer('failures').notNull().default(0),
    lastFailureAt: timestamp('last_failure_at', { withTimezone: true }).notNull().defaultNow(),
    /** no try before this (null: not locked) */
    lockedUntil: timestamp('locked_until', { withTimezone: true }),
  },
  (t) => [primaryKey({ columns: [t.kind, t.key] }), index('sign_in_failure_last_idx').on(t.lastFailureAt)],
);

/**
 * REST API requests per key (`token:ID`, `address:IP`) in its current one-minute window (server/request-rate.ts), kept
 * in PostgreSQL like sign_in_failure so that every web process counts against one limit.
 */
export const requestRates = pgTable(
  'request_rate',
  {
    key: text('key').primaryKey(),
    windowStart: timestamp('window_start', { withTimezone: true }).notNull(),
    count: integer('count').notNull(),
  },
  (t) => [index('request_rate_window_idx').on(t.windowStart)],
);

/**
 * Open live streams (SSE) of every web process, for the per-address cap (server/stream-slots.ts). Each names the
 * PostgreSQL backend of its process's LISTEN connection: rows whose backend is gone (the process died) do not count.
 */
export const liveStreams = pgTable(
  'live_stream',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    address: text('address').notNull(),
    backendPid: integer('backend_pid').notNull(),
    openedAt: timestamp('opened_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [index('live_stream_address_idx').on(t.address)],
);

export const apiTokenScopeEnum = pgEnum('api_token_scope', ['read', 'read-write']);

/**
 * Personal access tokens for the REST API (/api/v1, server/api-tokens.ts): only the SHA-256 of the token is kept (the
 * token is shown once, when created). A token acts as its user with the user's current role.
 */
export const apiTokens = pgTable(
  'api_token',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    userId: text('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    name: text('name').notNull(),
    scope: apiTokenScopeEnum('scope').notNull(),
    /** hex SHA-256 of the whole token (`lex_...`) */
    tokenHash: text('token_hash').notNull().unique(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    lastUsedAt: timestamp('last_used_at', { withTimezone: true }),
    revokedAt: timestamp('revoked_at', { withTimezone: true }),
  },
  (t) => [index('api_token_user_idx').on(t.userId)],
);

/**
 * Site settings an admin sets on a page (one row per setting, its value as JSON): the automatic explainer's endpoint
 * (server/explainer/settings.ts). Secrets stored here (the explainer's API key) are never sent to a browser.
 */
export const siteSettings = pgTable('site_setting', {
  key: text('key').primaryKey(),
  value: jsonb('value').notNull(),
  updatedBy: text('updated_by').references(() => users.id, { onDelete: 'set null' }),
  updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
});

/**
 * The automatic explainer's pace, one row per endpoint (its completions URL and model; server/explainer/pace.ts): when
 * its next request may start. Every job and worker reserves its requests here, so the requests-per-minute limit holds
 * for all of them together.
 */
export const explainerPace = pgTable('explainer_pace', {
  endpoint: text('endpoint').primaryKey(),
  nextAt: timestamp('next_at', { withTimezone: true }).notNull(),
});

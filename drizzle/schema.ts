/**
 * The one schema module: auth tables (shaped as @auth/drizzle-adapter expects) and the domain.
 * Migrations in drizzle/migrations are generated from this file by `npm run db:generate`.
 */
import { sql } from 'drizzle-orm';
import {
  boolean,
  index,
  integer,
  jsonb,
  pgEnum,
  pgTable,
  primaryKey,
  real,
  text,
  timestamp,
  uuid,
} from 'drizzle-orm/pg-core';

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
});

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
    result: jsonb('result'),
    error: text('error'),
    /** model and SAE content hashes, code version, backend */
    provenance: jsonb('provenance'),
    userId: text('user_id').references(() => users.id, { onDelete: 'set null' }),
    modelId: uuid('model_id').references(() => models.id, { onDelete: 'cascade' }),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    startedAt: timestamp('started_at', { withTimezone: true }),
    finishedAt: timestamp('finished_at', { withTimezone: true }),
  },
  (t) => [index('job_model_created_idx').on(t.modelId, t.createdAt.desc())],
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

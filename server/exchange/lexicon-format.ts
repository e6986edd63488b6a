/**
 * The Lexicon exchange format (`lexicon export|import --format lexicon DIR`): everything people made in a wiki —
 * accounts they act as, teams, feature pages and their revisions, label proposals and votes, comments and their
 * revisions, hypotheses with features, status history, votes, evidence and re-runs, feature lists, feature links —
 * as one JSONL file per table and a manifest.json. README "Lexicon exchange format" documents the files.
 *
 * Rows keep their ids (uuids), so an import into an empty wiki and a new export give the same files. Models and SAEs
 * are named by address (`MODEL` / `MODEL/SAE`) with their content hash in the manifest, since each instance registers
 * them under its own ids; inside evidence JSON their ids are written `model:MODEL` / `sae:MODEL/SAE`. Accounts are
 * matched by email on import (an existing account keeps its password; a new one has none). Not exported: password
 * hashes, sign-in accounts and sessions, jobs, dashboards (they are recomputed or imported in their own formats),
 * watches, notifications, pending invitations, the audit log.
 */
import fs from 'node:fs';
import path from 'node:path';
import { count, eq, inArray } from 'drizzle-orm';
import type { PgTable } from 'drizzle-orm/pg-core';
import {
  commentRevisions,
  comments,
  evidence,
  evidenceReruns,
  featureLinks,
  featureListEntries,
  featureLists,
  featurePages,
  featureRevisions,
  hypotheses,
  hypothesisFeatures,
  hypothesisStatusChanges,
  hypothesisVotes,
  labelProposals,
  labelVotes,
  models,
  resourceAccess,
  saes,
  teamMembers,
  teams,
  users,
} from '@/drizzle/schema';
import { InputError } from '@/compute/errors';
import type { Db } from '../db';
import { checkSnapshotTokens } from '../evidence';

export const LEXICON_FORMAT = 'lexicon';
export const LEXICON_FORMAT_VERSION = 1;

export interface LexiconManifest {
  format: typeof LEXICON_FORMAT;
  version: number;
  /** the models and SAEs the rows refer to, by address, with the content hash they had */
  models: { slug: string; contentHash: string }[];
  saes: { address: string; hookName: string; dSae: number; contentHash: string }[];
  /** rows per file */
  counts: Record<string, number>;
}

type Row = Record<string, unknown>;

/**
 * How ids of instance-specific things turn into what the files hold (export) or back (import): an SAE id and
 * `MODEL/SAE`, a model id and its slug, an account id and the id it has here. Unknown ones throw.
 */
interface Mapping {
  sae(value: string): string;
  model(value: string): string;
  user(id: string): string;
}

interface Column {
  /** the property of the drizzle row */
  name: string;
  /** the field in the file */
  field: string;
  out(value: unknown, row: Row, map: Mapping): unknown;
  in(value: unknown, row: Row, map: Mapping): unknown;
}

const nullable = (f: (v: string) => string) => (v: unknown) => (v === null || v === undefined ? null : f(v as string));

const plain = (name: string): Column => ({ name, field: name, out: (v) => v, in: (v) => v });
const date = (name: string): Column => ({
  name,
  field: name,
  out: (v) => (v === null ? null : (v as Date).toISOString()),
  in: (v) => (v === null ? null : new Date(v as string)),
});
/** an SAE or model id column (`saeId` → field `sae`, `MODEL/SAE`; `modelId` → `model`, its slug) */
const addressed = (kind: 'sae' | 'model') => (name: string): Column => ({
  name,
  field: name.replace(/Id$/, ''),
  out: (v, _r, map) => nullable(map[kind])(v),
  in: (v, _r, map) => nullable(map[kind])(v),
});
const sae = addressed('sae');
const model = addressed('model');
const user = (name: string): Column => ({ name, field: name, out: (v, _r, map) => nullable(map.user)(v), in: (v, _r, map) => nullable(map.user)(v) });
/** JSON that may hold model and SAE ids (evidence params, results, provenance): written `sae:MODEL/SAE`, `model:MODEL` */
const json = (name: string): Column => ({
  name,
  field: name,
  out: (v, _r, map) =>
    mapStrings(v, (s) => attempt(() => `sae:${map.sae(s)}`) ?? attempt(() => `model:${map.model(s)}`) ?? s),
  in: (v, _r, map) =>
    mapStrings(v, (s) => (s.startsWith('sae:') ? map.sae(s.slice(4)) : s.startsWith('model:') ? map.model(s.slice(6)) : s)),
});

/** evidence.result, as json(); a dashboard snapshot's tokens checked on import (../evidence.ts) */
const evidenceResult: Column = {
  ...json('result'),
  in(v, row, map) {
    if (row.kind === 'dashboard') checkSnapshotTokens(v);
    return json('result').in(v, row, map);
  },
};

function attempt(f: () => string): string | undefined {
  try {
    return f();
  } catch {
    return undefined;
  }
}

function mapStrings(value: unknown, f: (s: string) => string): unknown {
  if (typeof value === 'string') return f(value);
  if (Array.isArray(value)) return value.map((v) => mapStrings(v, f));
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, mapStrings(v, f)]));
  return value;
}

/** resource_access names a model or an SAE by its kind */
const resource: Column = {
  name: 'resourceId',
  field: 'resource',
  out: (v, row, map) => (row.kind === 'sae' ? map.sae(v as string) : map.model(v as string)),
  in: (v, row, map) => (row.kind === 'sae' ? map.sae(v as string) : map.model(v as string)),
};

/** feature_link's source: a comment or hypothesis id, or `SAE_ID/INDEX` for a feature page */
const linkSource: Column = {
  name: 'sourceId',
  field: 'source',
  out: (v, row, map) => (row.sourceKind === 'feature_page' ? featurePageSource(v as string, map) : v),
  in: (v, row, map) => (row.sourceKind === 'feature_page' ? featurePageSource(v as string, map) : v),
};
function featurePageSource(source: string, map: Mapping): string {
  const slash = source.lastIndexOf('/');
  return `${map.sae(source.slice(0, slash))}${source.slice(slash)}`;
}

interface TableFile {
  file: string;
  table: PgTable;
  columns: Column[];
  /** fields the lines are sorted by */
  key: string[];
}

/** The files, in the order an import inserts them (referenced rows first). */
const FILES: TableFile[] = [
  {
    file: 'users.jsonl',
    table: users,
    columns: [plain('id'), plain('name'), plain('email'), plain('handle'), plain('role'), plain('image'), date('createdAt')],
    key: ['id'],
  },
  { file: 'teams.jsonl', table: teams, columns: [plain('id'), plain('slug'), plain('name'), date('createdAt')], key: ['id'] },
  { file: 'team_members.jsonl', table: teamMembers, columns: [plain('teamId'), user('userId'), plain('role'), date('addedAt')], key: ['teamId', 'userId'] },
  {
    file: 'resource_access.jsonl',
    table: resourceAccess,
    columns: [plain('kind'), resource, plain('teamId'), user('ownerId'), plain('visibility'), date('updatedAt')],
    key: ['kind', 'resource'],
  },
  {
    file: 'feature_pages.jsonl',
    table: featurePages,
    columns: [sae('saeId'), plain('index'), plain('label'), plain('body'), plain('revision'), user('updatedBy'), date('updatedAt')],
    key: ['sae', 'index'],
  },
  {
    file: 'feature_revisions.jsonl',
    table: featureRevisions,
    columns: [plain('id'), sae('saeId'), plain('index'), plain('revision'), plain('label'), plain('body'), plain('summary'), user('authorId'), date('createdAt')],
    key: ['sae', 'index', 'revision'],
  },
  {
    file: 'label_proposals.jsonl',
    table: labelProposals,
    columns: [plain('id'), sae('saeId'), plain('index'), plain('label'), user('authorId'), plain('provenance'), date('createdAt')],
    key: ['id'],
  },
  {
    file: 'label_votes.jsonl',
    table: labelVotes,
    columns: [sae('saeId'), plain('index'), user('userId'), plain('proposalId'), date('createdAt')],
    key: ['sae', 'index', 'userId'],
  },
  {
    file: 'hypotheses.jsonl',
    table: hypotheses,
    columns: [
      plain('id'),
      model('modelId'),
      plain('statement'),
      plain('body'),
      plain('status'),
      user('statusChangedBy'),
      date('statusChangedAt'),
      user('authorId'),
      date('createdAt'),
      date('updatedAt'),
    ],
    key: ['id'],
  },
  {
    file: 'hypothesis_features.jsonl',
    table: hypothesisFeatures,
    columns: [plain('hypothesisId'), sae('saeId'), plain('index')],
    key: ['hypothesisId', 'sae', 'index'],
  },
  {
    file: 'hypothesis_status_changes.jsonl',
    table: hypothesisStatusChanges,
    columns: [plain('id'), plain('hypothesisId'), plain('status'), plain('note'), user('userId'), date('createdAt')],
    key: ['id'],
  },
  {
    file: 'hypothesis_votes.jsonl',
    table: hypothesisVotes,
    columns: [plain('hypothesisId'), user('userId'), plain('value'), date('createdAt')],
    key: ['hypothesisId', 'userId'],
  },
  {
    file: 'evidence.jsonl',
    table: evidence,
    columns: [
      plain('id'),
      plain('hypothesisId'),
      plain('kind'),
      sae('saeId'),
      plain('featureIndex'),
      json('params'),
      evidenceResult,
      json('provenance'),
      plain('note'),
      user('addedBy'),
      date('createdAt'),
    ],
    key: ['id'],
  },
  {
    file: 'evidence_reruns.jsonl',
    table: evidenceReruns,
    columns: [plain('id'), plain('evidenceId'), plain('agrees'), json('comparison'), user('requestedBy'), date('createdAt')],
    key: ['id'],
  },
  {
    file: 'comments.jsonl',
    table: comments,
    columns: [
      plain('id'),
      plain('threadKind'),
      sae('saeId'),
      plain('featureIndex'),
      plain('hypothesisId'),
      plain('parentId'),
      user('authorId'),
      plain('body'),
      plain('revision'),
      date('createdAt'),
      date('editedAt'),
      date('deletedAt'),
      user('deletedBy'),
    ],
    key: ['id'],
  },
  {
    file: 'comment_revisions.jsonl',
    table: commentRevisions,
    columns: [plain('commentId'), plain('revision'), plain('body'), date('createdAt')],
    key: ['commentId', 'revision'],
  },
  {
    file: 'feature_lists.jsonl',
    table: featureLists,
    columns: [plain('id'), plain('name'), plain('description'), user('ownerId'), date('createdAt')],
    key: ['id'],
  },
  {
    file: 'feature_list_entries.jsonl',
    table: featureListEntries,
    columns: [plain('listId'), sae('saeId'), plain('index'), plain('note'), plain('position'), date('addedAt')],
    key: ['listId', 'sae', 'index'],
  },
  {
    file: 'feature_links.jsonl',
    table: featureLinks,
    columns: [plain('sourceKind'), linkSource, plain('modelSlug'), plain('saeSlug'), plain('index'), date('createdAt')],
    key: ['sourceKind', 'source', 'modelSlug', 'saeSlug', 'index'],
  },
];

/** Tables that must be empty for an import: the wiki's own content (accounts and access rows may exist). */
const CONTENT_FILES = FILES.filter((f) => f.table !== users && f.table !== resourceAccess);

const MANIFEST = 'manifest.json';
const INSERT_BATCH = 500;

function compareKeys(key: string[]) {
  return (a: Row, b: Row) => {
    for (const k of key) {
      const x = a[k] as string | number | null;
      const y = b[k] as string | number | null;
      if (x === y) continue;
      if (x === null) return -1;
      if (y === null) return 1;
      return x < y ? -1 : 1;
    }
    return 0;
  };
}

const toLine = (spec: TableFile, row: Row, map: Mapping): Row => Object.fromEntries(spec.columns.map((c) => [c.field, c.out(row[c.name], row, map)]));

export interface ExchangeOptions {
  log?: (line: string) => void;
}

/** Writes the wiki of `db` into `dir` (created; files there of the same names are replaced). */
export async function exportLexicon(db: Db, dir: string, options: ExchangeOptions = {}): Promise<LexiconManifest> {
  const modelRows = await db.select({ id: models.id, slug: models.slug, contentHash: models.contentHash }).from(models);
  const saeRows = await db.select({ id: saes.id, modelId: saes.modelId, slug: saes.slug, hookName: saes.hookName, dSae: saes.dSae, contentHash: saes.contentHash }).from(saes);
  const modelById = new Map(modelRows.map((m) => [m.id, m]));
  const saeById = new Map(saeRows.map((s) => [s.id, s]));
  const usedModels = new Set<string>();
  const usedSaes = new Set<string>();
  const userIds = new Set<string>();
  const map: Mapping = {
    model(id) {
      const m = modelById.get(id);
      if (!m) throw new Error(`no model ${id}`);
      usedModels.add(id);
      return m.slug;
    },
    sae(id) {
      const s = saeById.get(id);
      if (!s) throw new Error(`no SAE ${id}`);
      usedSaes.add(id);
      usedModels.add(s.modelId);
      return `${modelById.get(s.modelId)!.slug}/${s.slug}`;
    },
    user(id) {
      userIds.add(id);
      return id;
    },
  };

  fs.mkdirSync(dir, { recursive: true });
  const contents = new Map<string, Row[]>();
  for (const spec of FILES.filter((f) => f.table !== users)) {
    const rows = (await db.select().from(spec.table)) as Row[];
    contents.set(spec.file, rows.map((row) => toLine(spec, row, map)).sort(compareKeys(spec.key)));
  }
  // the accounts the rows name, and the members of exported teams
  const userSpec = FILES.find((f) => f.table === users)!;
  const userRows = userIds.size === 0 ? [] : ((await db.select().from(users).where(inArray(users.id, [...userIds]))) as Row[]);
  contents.set(userSpec.file, userRows.map((row) => toLine(userSpec, row, map)).sort(compareKeys(userSpec.key)));

  const counts: Record<string, number> = {};
  for (const spec of FILES) {
    const rows = contents.get(spec.file)!;
    counts[spec.file] = rows.length;
    fs.writeFileSync(path.join(dir, spec.file), rows.map((r) => `${JSON.stringify(r)}\n`).join(''));
  }
  const manifest: LexiconManifest = {
    format: LEXICON_FORMAT,
    version: LEXICON_FORMAT_VERSION,
    models: [...usedModels].map((id) => modelById.get(id)!).map((m) => ({ slug: m.slug, contentHash: m.contentHash })).sort((a, b) => (a.slug < b.slug ? -1 : 1)),
    saes: [...usedSaes]
      .map((id) => saeById.get(id)!)
      .map((s) => ({ address: `${modelById.get(s.modelId)!.slug}/${s.slug}`, hookName: s.hookName, dSae: s.dSae, contentHash: s.contentHash }))
      .sort((a, b) => (a.address < b.address ? -1 : 1)),
    counts,
  };
  fs.writeFileSync(path.join(dir, MANIFEST), `${JSON.stringify(manifest, null, 2)}\n`);
  options.log?.(`exported ${Object.entries(counts).map(([f, n]) => `${n} ${f.replace('.jsonl', '')}`).join(', ')} to ${dir}`);
  return manifest;
}

interface Line {
  number: number;
  row: Row;
}

/** One file's lines as rows, each checked to have the file's fields; errors name the file and line. */
function readLines(dir: string, spec: TableFile): Line[] {
  const file = path.join(dir, spec.file);
  if (!fs.existsSync(file)) throw new InputError(`${file}: missing (a Lexicon export has ${FILES.map((f) => f.file).join(', ')} and ${MANIFEST})`);
  const fields = spec.columns.map((c) => c.field);
  return fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .flatMap((text, i) => {
      if (text.trim() === '') return [];
      let row: unknown;
      try {
        row = JSON.parse(text);
      } catch (err) {
        throw new InputError(`${file}:${i + 1}: not JSON (${(err as Error).message})`);
      }
      const missing = row && typeof row === 'object' && !Array.isArray(row) ? fields.filter((f) => !Object.hasOwn(row, f)) : fields;
      if (missing.length > 0) throw new InputError(`${file}:${i + 1}: no ${missing.join(', ')}`);
      return [{ number: i + 1, row: row as Row }];
    });
}

function readManifest(dir: string): LexiconManifest {
  const file = path.join(dir, MANIFEST);
  if (!fs.existsSync(file)) throw new InputError(`${dir} has no ${MANIFEST}: not a Lexicon export`);
  let manifest: LexiconManifest;
  try {
    manifest = JSON.parse(fs.readFileSync(file, 'utf8')) as LexiconManifest;
  } catch (err) {
    throw new InputError(`${file}: not JSON (${(err as Error).message})`);
  }
  if (manifest.format !== LEXICON_FORMAT || manifest.version !== LEXICON_FORMAT_VERSION) {
    throw new InputError(`${file}: format ${JSON.stringify(manifest.format)} version ${manifest.version}; this Lexicon reads ${LEXICON_FORMAT} version ${LEXICON_FORMAT_VERSION}`);
  }
  return manifest;
}

/**
 * Restores an export into a wiki whose models and SAEs are registered (the same addresses and content) and which has
 * no content yet, in one transaction: all of it or, on any error, nothing.
 */
export async function importLexicon(db: Db, dir: string, options: ExchangeOptions = {}): Promise<Record<string, number>> {
  const manifest = readManifest(dir);
  const contents = new Map(FILES.map((spec) => [spec.file, readLines(dir, spec)]));

  return db.transaction(async (tx) => {
    const nonEmpty: string[] = [];
    for (const spec of CONTENT_FILES) {
      const [{ n }] = await tx.select({ n: count() }).from(spec.table);
      if (n > 0) nonEmpty.push(`${n} ${spec.file.replace('.jsonl', '')}`);
    }
    if (nonEmpty.length > 0) throw new InputError(`this wiki is not empty (${nonEmpty.join(', ')}): a Lexicon export is imported into one with no content yet`);

    const modelRows = await tx.select({ id: models.id, slug: models.slug, contentHash: models.contentHash }).from(models);
    const saeRows = await tx.select({ id: saes.id, modelId: saes.modelId, slug: saes.slug, contentHash: saes.contentHash }).from(saes);
    const modelBySlug = new Map(modelRows.map((m) => [m.slug, m]));
    const slugOfModel = new Map(modelRows.map((m) => [m.id, m.slug]));
    const saeByAddress = new Map(saeRows.map((s) => [`${slugOfModel.get(s.modelId)}/${s.slug}`, s]));
    for (const m of manifest.models) {
      const here = modelBySlug.get(m.slug);
      if (!here) throw new InputError(`the export refers to model "${m.slug}", which is not registered here: add it first (\`lexicon model add\`)`);
      if (here.contentHash !== m.contentHash) throw new InputError(`model "${m.slug}" here has content sha256 ${here.contentHash}, the export's had ${m.contentHash}: not the same model`);
    }
    for (const s of manifest.saes) {
      const here = saeByAddress.get(s.address);
      if (!here) throw new InputError(`the export refers to SAE "${s.address}", which is not registered here: add it first (\`lexicon sae add\`)`);
      if (here.contentHash !== s.contentHash) throw new InputError(`SAE "${s.address}" here has content sha256 ${here.contentHash}, the export's had ${s.contentHash}: not the same SAE`);
    }

    // accounts: one with the same email is the same person; the others are created without a password
    const userMap = new Map<string, string>();
    const userSpec = FILES.find((f) => f.table === users)!;
    for (const { row: line } of contents.get(userSpec.file)!) {
      const existing = line.email ? await tx.query.users.findFirst({ where: eq(users.email, line.email as string) }) : undefined;
      if (existing) {
        userMap.set(line.id as string, existing.id);
        continue;
      }
      const taken = await tx.query.users.findFirst({ where: eq(users.handle, line.handle as string) });
      // a handle taken here is left to the user_handle_default trigger, which picks a free one
      await tx.insert(users).values({ ...fromLine(userSpec, line, identity), ...(taken ? { handle: '' } : {}) });
      userMap.set(line.id as string, line.id as string);
    }

    const map: Mapping = {
      sae: (address) => saeByAddress.get(address)?.id ?? unknown('SAE', address),
      model: (slug) => modelBySlug.get(slug)?.id ?? unknown('model', slug),
      user: (id) => userMap.get(id) ?? unknown('account', id),
    };
    const counts: Record<string, number> = { [userSpec.file]: userMap.size };
    for (const spec of FILES.filter((f) => f.table !== users)) {
      const lines = contents.get(spec.file)!;
      const rows = lines.map((line) => {
        try {
          return fromLine(spec, line.row, map);
        } catch (err) {
          throw new InputError(`${path.join(dir, spec.file)}:${line.number}: ${(err as Error).message}`);
        }
      });
      for (let i = 0; i < rows.length; i += INSERT_BATCH) {
        const batch = rows.slice(i, i + INSERT_BATCH);
        // resource_access rows may exist here already (set when the SAE was registered): the export's win
        if (spec.table === resourceAccess) {
          for (const row of batch) await tx.insert(resourceAccess).values(row as never).onConflictDoUpdate({ target: [resourceAccess.kind, resourceAccess.resourceId], set: row });
        } else {
          await tx.insert(spec.table).values(batch as never);
        }
      }
      counts[spec.file] = rows.length;
    }
    options.log?.(`imported ${Object.entries(counts).map(([f, n]) => `${n} ${f.replace('.jsonl', '')}`).join(', ')} from ${dir}`);
    return counts;
  });
}

const identity: Mapping = { sae: (v) => v, model: (v) => v, user: (v) => v };

function unknown(what: string, name: string): never {
  throw new InputError(`names ${what} "${name}", which is neither registered here nor in the export's manifest`);
}

const fromLine = (spec: TableFile, line: Row, map: Mapping): Row => Object.fromEntries(spec.columns.map((c) => [c.name, c.in(line[c.field], line, map)]));

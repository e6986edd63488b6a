/**
 * PostgreSQL restarting while people post: N writers post comments (server/comments.ts, with a feature link each) and
 * save feature edits (editFeature), readers load feature pages through tRPC, and mid-way PostgreSQL is stopped and
 * started again on the same data and port. Counts what each client saw, then checks that nothing is half-written and
 * that the same process writes, reads and hears live events again. Used by tests/integration/pg-restart.test.ts and
 * `npm run bench:pg-restart`.
 */
import { sql } from 'drizzle-orm';
import { viewerOf } from '@/server/authz';
import { postComment } from '@/server/comments';
import { connectionRetries, getDb, isConnectionLoss } from '@/server/db';
import { EditConflict, currentPageVersion, editFeature } from '@/server/descriptions';
import type { UserRow } from '@/server/users';
import { callerFor } from './caller';
import type { TestDatabase } from './database';
import { EventLog } from './events';

export interface RestartOptions {
  writers: number;
  readers: number;
  /** how long the writers write, in all */
  durationMs: number;
  /** when PostgreSQL is stopped, from the start */
  restartAtMs: number;
  /** how long it stays down before it is started again */
  downMs: number;
}

interface Outcome {
  ok: number;
  /** the client got an error */
  failed: number;
  /** ... of which the transaction had committed anyway (the error came after COMMIT reached the server) */
  failedButCommitted: number;
}

export interface RestartFigures {
  options: RestartOptions;
  comments: Outcome;
  edits: Outcome & { conflicts: number };
  reads: { ok: number; failed: number; retried: number };
  /** the errors clients saw, by message */
  errors: Record<string, number>;
  /** stop → stopped, stopped → started again (ms) */
  stopMs: number;
  startMs: number;
  /** from PostgreSQL accepting connections again to the first write that started after it and succeeded (ms) */
  firstWriteAfterMs: number | null;
  /** the same process after the restart; liveAgainMs: from PostgreSQL up to the live subscription's resync */
  after: { write: boolean; read: boolean; subscriptionResynced: boolean; liveAgainMs: number; eventMs: number | null };
  consistency: {
    pages: number;
    revisions: number;
    /** a page whose state is not its latest revision, or whose revisions are not 1..revision */
    inconsistentPages: number;
    comments: number;
    /** comments with a feature link in their body but no feature_link row, or no watch of their author */
    commentsMissingLinks: number;
    commentsMissingWatch: number;
    /** feature_link rows of comments that do not exist */
    orphanLinks: number;
  };
}

/** a client that got an error waits this long before its next write, as a person (or a retrying client) would */
const FAILURE_PAUSE_MS = 100;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export async function restartScenario(
  database: TestDatabase,
  setup: { users: UserRow[]; model: string; sae: string; saeId: string; dSae: number },
  options: RestartOptions,
): Promise<RestartFigures> {
  const db = getDb();
  const errors: Record<string, number> = {};
  const seen = (err: unknown) => {
    // drizzle wraps the driver's error ("Failed query: …"): count the cause
    let root = err as Error & { cause?: unknown };
    while (root.cause instanceof Error) root = root.cause as typeof root;
    const message = root.message?.split('\n')[0]?.replace(/127\.0\.0\.1:\d+/, 'PORT').slice(0, 120) ?? String(err);
    errors[message] = (errors[message] ?? 0) + 1;
    if (!isConnectionLoss(err) && !(err instanceof EditConflict)) console.error('[pg-restart] unexpected error:', err);
  };
  const comments: Outcome = { ok: 0, failed: 0, failedButCommitted: 0 };
  const edits = { ok: 0, failed: 0, failedButCommitted: 0, conflicts: 0 };
  const reads = { ok: 0, failed: 0, retried: 0 };
  const failedComments: string[] = [];
  const failedEdits: string[] = [];
  const writeOks: number[] = []; // start times of successful writes
  const start = performance.now();
  const deadline = start + options.durationMs;
  const retriesBefore = connectionRetries.count;
  // markers unique to this call: a later round must not find an earlier round's writes
  const round = `r${Date.now().toString(36)}`;

  // Someone viewing a feature page throughout, through the real subscription.
  const watched = options.writers % setup.dSae;
  const abort = new AbortController();
  const viewer = setup.users[setup.users.length - 1]!;
  const stream = await callerFor(viewer, { signal: abort.signal }).live.feature({ model: setup.model, sae: setup.sae, index: watched });
  const live = new EventLog<{ type: string; id?: string }>(
    (async function* () {
      for await (const e of stream as AsyncIterable<unknown>) yield (Array.isArray(e) ? e[1] : e) as { type: string; id?: string };
    })(),
  );
  await live.next((e) => e.type === 'presence');

  async function writer(w: number) {
    const user = setup.users[w % setup.users.length]!;
    const index = w % setup.dSae;
    let base = (await currentPageVersion(db, setup.saeId, index)).revision;
    for (let i = 0; performance.now() < deadline; i++) {
      const marker = `${round}-w${w}-i${i}`;
      const began = performance.now();
      if (i % 2 === 0) {
        const target = (w + i) % setup.dSae;
        try {
          await postComment(viewerOf({ user }), { target: { kind: 'feature', saeId: setup.saeId, index }, body: `${marker}: see [[${setup.model}/${setup.sae}/${target}]]` }, []);
          comments.ok++;
          writeOks.push(began);
        } catch (err) {
          comments.failed++;
          failedComments.push(marker);
          seen(err);
          await sleep(FAILURE_PAUSE_MS);
        }
      } else {
        try {
          ({ revision: base } = await editFeature(db, { saeId: setup.saeId, index, label: `label ${marker}`, body: `body ${marker}`, summary: marker, baseRevision: base, authorId: user.id }));
          edits.ok++;
          writeOks.push(began);
        } catch (err) {
          if (err instanceof EditConflict) {
            edits.conflicts++; // only after an edit that failed but committed: start again from what is there
            base = err.current.revision;
          } else {
            edits.failed++;
            failedEdits.push(marker);
            seen(err);
            await sleep(FAILURE_PAUSE_MS);
            base = await currentPageVersion(db, setup.saeId, index).then((v) => v.revision, () => base);
          }
        }
      }
      if (performance.now() - began < 2) await sleep(2);
    }
  }

  async function reader(r: number) {
    const caller = callerFor(setup.users[r % setup.users.length]!);
    for (let i = 0; performance.now() < deadline; i++) {
      try {
        await caller.feature.get({ model: setup.model, sae: setup.sae, index: (r + i) % setup.dSae });
        reads.ok++;
      } catch (err) {
        reads.failed++;
        seen(err);
      }
      await sleep(5);
    }
  }

  let stopMs = 0;
  let startMs = 0;
  let upAt = 0;
  const restart = (async () => {
    await sleep(options.restartAtMs);
    const t0 = performance.now();
    await database.restart({
      downMs: options.downMs,
      onStopped: () => (stopMs = performance.now() - t0),
    });
    upAt = performance.now();
    startMs = upAt - t0 - stopMs;
  })();

  await Promise.all([
    ...Array.from({ length: options.writers }, (_, w) => writer(w)),
    ...Array.from({ length: options.readers }, (_, r) => reader(r)),
    restart,
  ]);
  reads.retried = connectionRetries.count - retriesBefore;
  const firstAfter = writeOks.filter((t) => t >= upAt).sort((a, b) => a - b)[0];

  // The same process, after the restart: a write, a read, and the viewer's subscription hearing about it.
  const after = { write: false, read: false, subscriptionResynced: false, liveAgainMs: 0, eventMs: null as number | null };
  const editor = setup.users[0]!;
  // The viewer is told to re-read once the LISTEN connection is back (what was published meanwhile is gone).
  await live.next((e) => e.type === 'resync', 15_000);
  after.liveAgainMs = performance.now() - upAt;
  const from = live.seen.length;
  const t0 = performance.now();
  const { revision } = await editFeature(db, {
    saeId: setup.saeId,
    index: watched,
    label: 'after the restart',
    body: '',
    summary: 'after',
    baseRevision: (await currentPageVersion(db, setup.saeId, watched)).revision,
    authorId: editor.id,
  });
  after.write = true;
  await live.next((e) => e.type === 'label' && e.id === String(revision), 15_000, from);
  after.eventMs = performance.now() - t0;
  after.subscriptionResynced = true;
  after.read = (await callerFor(editor).feature.get({ model: setup.model, sae: setup.sae, index: watched })).page.label === 'after the restart';
  abort.abort();

  // Failed writes whose transaction committed anyway (the connection died after COMMIT reached the server).
  for (const marker of failedComments) {
    const [row] = (await db.execute<{ n: number }>(sql`select count(*)::int as n from comment where body like ${marker + ':%'}`)).rows;
    if (row!.n > 0) comments.failedButCommitted++;
  }
  for (const marker of failedEdits) {
    const [row] = (await db.execute<{ n: number }>(sql`select count(*)::int as n from feature_revision where summary = ${marker}`)).rows;
    if (row!.n > 0) edits.failedButCommitted++;
  }

  const [c] = (
    await db.execute<RestartFigures['consistency']>(sql`
    select
      (select count(*)::int from feature_page where sae_id = ${setup.saeId}) as pages,
      (select count(*)::int from feature_revision where sae_id = ${setup.saeId}) as revisions,
      (select count(*)::int from feature_page p where p.sae_id = ${setup.saeId} and (
         not exists (select 1 from feature_revision r where r.sae_id = p.sae_id and r.index = p.index and r.revision = p.revision
                     and r.label = p.label and r.body = p.body)
         or (select count(*) from feature_revision r where r.sae_id = p.sae_id and r.index = p.index) <> p.revision
         or (select max(revision) from feature_revision r where r.sae_id = p.sae_id and r.index = p.index) <> p.revision)) as "inconsistentPages",
      (select count(*)::int from comment where sae_id = ${setup.saeId}) as comments,
      (select count(*)::int from comment c where c.sae_id = ${setup.saeId} and c.body like '%[[%'
         and not exists (select 1 from feature_link l where l.source_kind = 'comment' and l.source_id = c.id::text)) as "commentsMissingLinks",
      (select count(*)::int from comment c where c.sae_id = ${setup.saeId}
         and not exists (select 1 from watch w where w.user_id = c.author_id and w.kind = 'feature'
                         and w.target_id = c.sae_id::text || '/' || c.feature_index)) as "commentsMissingWatch",
      (select count(*)::int from feature_link l where l.source_kind = 'comment'
         and not exists (select 1 from comment c where c.id::text = l.source_id)) as "orphanLinks"`)
  ).rows;

  return {
    options,
    comments,
    edits,
    reads,
    errors,
    stopMs: Math.round(stopMs),
    startMs: Math.round(startMs),
    firstWriteAfterMs: firstAfter === undefined ? null : Math.round(firstAfter - upAt),
    after: { ...after, liveAgainMs: Math.round(after.liveAgainMs), eventMs: after.eventMs === null ? null : Math.round(after.eventMs) },
    consistency: c!,
  };
}

/** The figures as lines for a terminal. */
export function formatFigures(f: RestartFigures): string {
  const o = f.options;
  const pct = (a: number, b: number) => (b === 0 ? '0' : ((100 * a) / b).toFixed(1));
  return [
    `${o.writers} writers (comments and feature edits, alternating) + ${o.readers} readers for ${o.durationMs} ms; PostgreSQL stopped at ${o.restartAtMs} ms, down ${o.downMs} ms`,
    `restart: stop ${f.stopMs} ms, start ${f.startMs} ms; first successful write started after it was up: +${f.firstWriteAfterMs ?? '—'} ms`,
    `comments: ${f.comments.ok} ok, ${f.comments.failed} failed (${pct(f.comments.failed, f.comments.ok + f.comments.failed)}%), of which ${f.comments.failedButCommitted} had committed`,
    `edits:    ${f.edits.ok} ok, ${f.edits.failed} failed, of which ${f.edits.failedButCommitted} had committed; ${f.edits.conflicts} refused as conflicts afterwards`,
    `reads:    ${f.reads.ok} ok, ${f.reads.failed} failed, ${f.reads.retried} retries after a lost connection`,
    `errors seen: ${Object.entries(f.errors).map(([m, n]) => `${n}× ${m}`).join('; ') || 'none'}`,
    `after the restart, same process: write ${f.after.write ? 'ok' : 'FAILED'}, read ${f.after.read ? 'ok' : 'FAILED'}, live subscription resynced ${f.after.liveAgainMs} ms after PostgreSQL was up and got the next event in ${f.after.eventMs ?? '—'} ms`,
    `consistency: ${f.consistency.pages} pages / ${f.consistency.revisions} revisions, ${f.consistency.inconsistentPages} inconsistent; ${f.consistency.comments} comments, ${f.consistency.commentsMissingLinks} missing links, ${f.consistency.commentsMissingWatch} missing the author's watch, ${f.consistency.orphanLinks} orphan links`,
  ].join('\n');
}

/**
 * Many editors saving the same feature page at once, through the real tRPC caller (feature.current, then
 * feature.edit with the revision read as base), and the invariants that must hold afterwards: every accepted save is
 * exactly one revision, every other save was refused as a conflict, revision numbers are contiguous, and nothing
 * accepted is lost. Used by `npm run bench:editors` (50 editors) and tests/integration/wiki.test.ts (20).
 */
import { TRPCError } from '@trpc/server';
import { and, asc, eq } from 'drizzle-orm';
import { featurePages, featureRevisions, users } from '@/drizzle/schema';
import { createCaller } from '@/server/api/root';
import type { Context } from '@/server/api/trpc';
import type { Db } from '@/server/db';

export interface EditorsRun {
  editors: number;
  rounds: number;
  attempts: number;
  accepted: number;
  conflicts: number;
  /** revisions the page gained during the run (read from the database) */
  newRevisions: number;
  /** the page's revision before and after */
  startRevision: number;
  endRevision: number;
  elapsedMs: number;
  /** broken invariants, each as a sentence (empty when all hold) */
  violations: string[];
}

/** `n` editor accounts (inserted directly: password hashing is not what is measured). */
export async function makeEditors(db: Db, n: number, prefix = 'editor'): Promise<{ id: string; name: string }[]> {
  const tag = Date.now().toString(36);
  return db
    .insert(users)
    .values(Array.from({ length: n }, (_, i) => ({ name: `${prefix} ${i}`, email: `${prefix}-${i}-${tag}@example.org`, role: 'editor' as const })))
    .returning({ id: users.id, name: users.name })
    .then((rows) => rows.map((r) => ({ id: r.id, name: r.name ?? '' })));
}

export async function runConcurrentEditors(
  db: Db,
  options: { address: { model: string; sae: string; index: number }; saeId: string; editors: { id: string; name: string }[]; rounds: number },
): Promise<EditorsRun> {
  const { address, saeId, rounds } = options;
  const where = and(eq(featurePages.saeId, saeId), eq(featurePages.index, address.index));
  const pageRevision = async () => (await db.select({ revision: featurePages.revision }).from(featurePages).where(where))[0]?.revision ?? 0;
  const startRevision = await pageRevision();
  const saves: { editor: number; round: number; base: number; revision: number; label: string; body: string; authorId: string }[] = [];
  let conflicts = 0;
  const started = performance.now();

  await Promise.all(
    options.editors.map(async (user, e) => {
      const session = { user: { id: user.id, role: 'editor' as const, name: user.name, email: null }, expires: '' };
      const caller = createCaller({ db, session, headers: new Headers() } as unknown as Context);
      for (let round = 0; round < rounds; round++) {
        const current = await caller.feature.current(address);
        const label = `editor ${e} round ${round}`;
        const body = `Saved by editor ${e} in round ${round}, on top of revision ${current.revision}.`;
        try {
          const { revision } = await caller.feature.edit({ ...address, label, body, summary: `e${e} r${round}`, baseRevision: current.revision });
          saves.push({ editor: e, round, base: current.revision, revision, label, body, authorId: user.id });
        } catch (err) {
          if (!(err instanceof TRPCError && err.code === 'CONFLICT')) throw err;
          conflicts++;
        }
      }
    }),
  );
  const elapsedMs = performance.now() - started;

  const stored = await db
    .select()
    .from(featureRevisions)
    .where(and(eq(featureRevisions.saeId, saeId), eq(featureRevisions.index, address.index)))
    .orderBy(asc(featureRevisions.revision));
  const fresh = stored.filter((r) => r.revision > startRevision);
  const endRevision = await pageRevision();
  const attempts = options.editors.length * rounds;
  const violations: string[] = [];
  if (saves.length !== fresh.length) violations.push(`${saves.length} saves were accepted but ${fresh.length} revisions were written`);
  if (saves.length + conflicts !== attempts) violations.push(`${saves.length} accepted + ${conflicts} conflicts ≠ ${attempts} attempts`);
  stored.forEach((r, i) => {
    if (r.revision !== i + 1) violations.push(`revision numbers are not contiguous: position ${i + 1} holds revision ${r.revision}`);
  });
  if (endRevision !== startRevision + saves.length) violations.push(`the page is at revision ${endRevision}, expected ${startRevision + saves.length}`);
  const byNumber = new Map(fresh.map((r) => [r.revision, r]));
  for (const save of saves) {
    const r = byNumber.get(save.revision);
    if (!r) violations.push(`accepted save of editor ${save.editor} round ${save.round} (revision ${save.revision}) is missing: lost update`);
    else if (r.label !== save.label || r.body !== save.body || r.authorId !== save.authorId)
      violations.push(`revision ${save.revision} does not hold what editor ${save.editor} saved in round ${save.round}: lost update`);
    if (save.revision !== save.base + 1) violations.push(`a save based on revision ${save.base} became revision ${save.revision}`);
  }
  const [page] = await db.select().from(featurePages).where(where);
  const last = stored.at(-1);
  if (last && (page?.label !== last.label || page?.body !== last.body)) violations.push('the page does not show its latest revision');
  return {
    editors: options.editors.length,
    rounds,
    attempts,
    accepted: saves.length,
    conflicts,
    newRevisions: fresh.length,
    startRevision,
    endRevision,
    elapsedMs,
    violations,
  };
}

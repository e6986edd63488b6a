/**
 * The authorisation matrix: every mutation of the tRPC router (enumerated from appRouter, so a new mutation without
 * a row here fails) called as anonymous, viewer, editor, maintainer, admin and a member of another team, on a
 * team-owned team-visible SAE and on a public one, against a real PostgreSQL. Each row says what the mutation needs
 * (checks in order; `signedIn` first where a procedure turns visitors away before looking anything up, which tells
 * them nothing either); the expected answer per persona follows from the access rules written out below (not from
 * server/authz.ts, which is what is being tested).
 */
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { featureListEntries, teamInvitations, teamMembers, users } from '@/drizzle/schema';
import { createApiToken } from '@/server/api-tokens';
import { appRouter } from '@/server/api/root';
import { getDb, getPool } from '@/server/db';
import { currentPageVersion, editFeature } from '@/server/descriptions';
import { enqueueJob } from '@/server/jobs';
import { getQueue } from '@/server/jobs/queue';
import { setExplainer } from '@/server/explainer/settings';
import { createList } from '@/server/lists';
import { addMember, createTeam, setAccess } from '@/server/teams';
import { setRole, signUp, type Role, type UserRow } from '@/server/users';
import { callerFor } from '../helpers/caller';
import { startTestDatabase, type TestDatabase } from '../helpers/database';
import { seedSyntheticModel } from '../helpers/synthetic';

const PERSONAS = ['anonymous', 'viewer', 'editor', 'maintainer', 'admin', 'outsider'] as const;
type Persona = (typeof PERSONAS)[number];
type SaeKind = 'team' | 'public';
type Outcome = 'ok' | 'NOT_FOUND' | 'UNAUTHORIZED' | 'FORBIDDEN';
type Level = 'none' | 'read' | 'viewer' | 'editor' | 'maintainer';

/**
 * The personas: team viewer, editor and maintainer are members of team T with that role (site roles viewer, editor,
 * editor); the outsider is a site editor and the maintainer of team O; admin is the site admin.
 */
const SITE_ROLE: Record<Exclude<Persona, 'anonymous'>, Role> = { viewer: 'viewer', editor: 'editor', maintainer: 'editor', admin: 'admin', outsider: 'editor' };

/** Their level on each SAE, by the rules: team-visible SAEs are their members' only; public ones follow site roles. */
const LEVEL: Record<SaeKind, Record<Persona, Level>> = {
  team: { anonymous: 'none', viewer: 'viewer', editor: 'editor', maintainer: 'maintainer', admin: 'maintainer', outsider: 'none' },
  public: { anonymous: 'read', viewer: 'viewer', editor: 'editor', maintainer: 'editor', admin: 'maintainer', outsider: 'editor' },
};
const NEEDS = { read: 'read', comment: 'viewer', compute: 'viewer', edit: 'editor', moderate: 'maintainer', manage: 'maintainer' } as const;
const RANK: Level[] = ['none', 'read', 'viewer', 'editor', 'maintainer'];

/** One check a mutation makes: an action on the SAE, or a site/team/model rule. */
type Check = keyof typeof NEEDS | 'signedIn' | 'siteEditor' | 'siteAdmin' | 'teamManage' | 'modelManage' | 'author';

function outcomeOf(check: Check, persona: Persona, kind: SaeKind): Outcome {
  const anonymous = persona === 'anonymous';
  switch (check) {
    case 'signedIn':
      return anonymous ? 'UNAUTHORIZED' : 'ok';
    case 'siteEditor':
      return anonymous ? 'UNAUTHORIZED' : SITE_ROLE[persona] === 'viewer' ? 'FORBIDDEN' : 'ok';
    case 'siteAdmin':
    case 'author': // rows that need the author of something set up by the admin
    case 'modelManage': // the model is public with no team: only admins manage it
      return anonymous ? 'UNAUTHORIZED' : persona === 'admin' ? 'ok' : 'FORBIDDEN';
    case 'teamManage': // teams are public: outsiders are refused, not kept in the dark
      return anonymous ? 'UNAUTHORIZED' : persona === 'admin' || persona === 'maintainer' ? 'ok' : 'FORBIDDEN';
    default: {
      const level = LEVEL[kind][persona];
      if (level === 'none') return 'NOT_FOUND';
      if (RANK.indexOf(level) >= RANK.indexOf(NEEDS[check])) return 'ok';
      return anonymous ? 'UNAUTHORIZED' : 'FORBIDDEN';
    }
  }
}

const expected = (checks: Check[], persona: Persona, kind: SaeKind): Outcome =>
  checks.map((c) => outcomeOf(c, persona, kind)).find((o) => o !== 'ok') ?? 'ok';

// ---- the world ------------------------------------------------------------------------------------------------

let database: TestDatabase;
const user = {} as Record<Exclude<Persona, 'anonymous'>, UserRow>;
let teamT: string;
const MODEL = 'mx';
const SAE: Record<SaeKind, { slug: string; id: string }> = { team: { slug: 'team-sae', id: '' }, public: { slug: 'open-sae', id: '' } };
let fresh = 0;

const callerAs = (persona: Persona) => callerFor(persona === 'anonymous' ? null : user[persona], { host: 'localhost' });
type Caller = ReturnType<typeof callerAs>;

/** An account made directly (no password hashing), for rows that add, promote or disable someone. */
async function freshUser(): Promise<UserRow> {
  fresh += 1;
  const [row] = await getDb().insert(users).values({ name: `Fresh ${fresh}`, email: `fresh${fresh}@example.org`, role: 'editor' }).returning();
  return row!;
}

interface Call {
  persona: Persona;
  kind: SaeKind;
  caller: Caller;
  sae: { model: string; sae: string; id: string };
  /** the persona's account (admin's for anonymous, for things that need an owner) */
  me: UserRow;
  n: number;
}

const admin = () => callerAs('admin');
/** an explainer endpoint (never asked: explain jobs are only enqueued here) */
const EXPLAINER = { baseUrl: 'http://127.0.0.1:9/v1', model: 'matrix-explainer' };
const feature = (c: Call, index = 1) => ({ model: c.sae.model, sae: c.sae.sae, index });
const address = (c: Call, index = 1) => `${c.sae.model}/${c.sae.sae}/${index}`;

async function jobOn(c: Call): Promise<string> {
  const job = await enqueueJob(await getQueue(), {
    type: 'activations',
    params: { saeId: c.sae.id, input: { text: 'once upon a time' }, features: [1], topK: 5 },
    userId: user.admin.id,
    modelId: (await getDb().execute<{ model_id: string }>(sql`select model_id from sae where id = ${c.sae.id}`)).rows[0]!.model_id,
  });
  return job.id;
}

async function listWithEntry(c: Call): Promise<string> {
  const list = await createList(getDb(), c.me, { name: `list ${c.n}` });
  await getDb().insert(featureListEntries).values({ listId: list.id, saeId: c.sae.id, index: 1, note: '', position: 0 });
  return list.id;
}

async function hypothesisOn(c: Call): Promise<string> {
  return (await admin().hypothesis.create({ statement: `statement ${c.n}`, features: [address(c)] })).id;
}

/** One row per mutation: what it needs (in order), and how to call it. */
const MATRIX: Record<string, { needs: Check[]; call: (c: Call) => Promise<unknown> }> = {
  'auth.signUp': { needs: [], call: (c) => c.caller.auth.signUp({ name: 'New', email: `new${c.n}@example.org`, password: 'long enough' }) },
  'auth.updateProfile': { needs: ['signedIn'], call: (c) => c.caller.auth.updateProfile({ name: c.me.name! }) },
  // one's own tokens (another account's token is NOT_FOUND: tests/integration/api.test.ts)
  'apiToken.create': { needs: ['signedIn'], call: (c) => c.caller.apiToken.create({ name: `t${c.n}`, scope: 'read' }) },
  'apiToken.revoke': {
    needs: ['signedIn'],
    call: async (c) => c.caller.apiToken.revoke({ id: (await createApiToken(getDb(), c.me.id, { name: `t${c.n}`, scope: 'read' })).id }),
  },

  'job.run': { needs: ['signedIn'], call: (c) => c.caller.job.run({ model: MODEL, input: { text: 'Once' } }) },
  // not the persona's own job: its model's maintainers (admins here) cancel it
  'job.cancel': { needs: ['signedIn', 'read', 'modelManage'], call: async (c) => c.caller.job.cancel({ id: await jobOn(c) }) },

  'feature.preview': { needs: ['signedIn'], call: (c) => c.caller.feature.preview({ body: '*hi*' }) },
  'feature.edit': {
    needs: ['signedIn', 'edit'],
    call: async (c) => {
      const { revision } = await currentPageVersion(getDb(), c.sae.id, 1);
      return c.caller.feature.edit({ ...feature(c), label: `label ${c.n}`, body: '', baseRevision: revision });
    },
  },
  'feature.activations': { needs: ['signedIn', 'compute'], call: (c) => c.caller.feature.activations({ ...feature(c), input: { text: 'Once' } }) },
  'feature.ablate': { needs: ['signedIn', 'compute'], call: (c) => c.caller.feature.ablate({ ...feature(c), input: { text: 'Once' } }) },
  'feature.steer': { needs: ['signedIn', 'compute'], call: (c) => c.caller.feature.steer({ ...feature(c), input: { text: 'Once' } }) },
  'feature.steerGenerate': {
    needs: ['signedIn', 'compute'],
    call: (c) => c.caller.feature.steerGenerate({ ...feature(c), input: { text: 'Once' }, steering: [{ feature: 0, strength: 1 }] }),
  },
  'feature.explain': {
    needs: ['signedIn', 'edit'],
    call: async (c) => {
      await setExplainer(getDb(), EXPLAINER, user.admin.id);
      return c.caller.feature.explain(feature(c));
    },
  },
  'feature.recompute': { needs: ['signedIn', 'edit'], call: (c) => c.caller.feature.recompute({ ...feature(c), what: 'logit-weights' }) },

  'hypothesis.create': { needs: ['signedIn', 'edit'], call: (c) => c.caller.hypothesis.create({ statement: `mine ${c.n}`, features: [address(c)] }) },
  'hypothesis.update': {
    needs: ['signedIn', 'edit'],
    call: async (c) => c.caller.hypothesis.update({ id: await hypothesisOn(c), statement: `changed ${c.n}`, body: '' }),
  },
  'hypothesis.setStatus': {
    needs: ['signedIn', 'edit'],
    call: async (c) => c.caller.hypothesis.setStatus({ id: await hypothesisOn(c), status: 'supported' }),
  },
  'hypothesis.vote': { needs: ['signedIn', 'comment'], call: async (c) => c.caller.hypothesis.vote({ id: await hypothesisOn(c), value: 1 }) },
  'hypothesis.saveEvidence': {
    needs: ['signedIn', 'edit'],
    call: async (c) => c.caller.hypothesis.saveEvidence({ hypothesisId: await hypothesisOn(c), source: { kind: 'snapshot', feature: feature(c) } }),
  },
  'hypothesis.rerun': {
    needs: ['signedIn', 'compute'],
    call: async (c) => {
      const { id } = await admin().hypothesis.saveEvidence({ hypothesisId: await hypothesisOn(c), source: { kind: 'snapshot', feature: feature(c) } });
      return c.caller.hypothesis.rerun({ evidenceId: id });
    },
  },

  'list.create': { needs: ['siteEditor'], call: (c) => c.caller.list.create({ name: `list ${c.n}` }) },
  'list.update': { needs: ['siteEditor'], call: async (c) => c.caller.list.update({ id: await listWithEntry(c), name: 'renamed' }) },
  'list.delete': { needs: ['siteEditor'], call: async (c) => c.caller.list.delete({ id: await listWithEntry(c) }) },
  'list.addEntry': {
    needs: ['siteEditor', 'read'],
    call: async (c) => c.caller.list.addEntry({ id: (await createList(getDb(), c.me, { name: 'l' })).id, address: address(c) }),
  },
  'list.addEntries': {
    needs: ['siteEditor', 'read'],
    call: async (c) =>
      c.caller.list.addEntries({ id: (await createList(getDb(), c.me, { name: 'l' })).id, model: c.sae.model, sae: c.sae.sae, indices: [1, 2] }),
  },
  'list.setNote': { needs: ['siteEditor', 'read'], call: async (c) => c.caller.list.setNote({ id: await listWithEntry(c), address: address(c), note: 'n' }) },
  'list.removeEntry': { needs: ['siteEditor', 'read'], call: async (c) => c.caller.list.removeEntry({ id: await listWithEntry(c), address: address(c) }) },
  'list.moveEntry': {
    needs: ['siteEditor', 'read'],
    call: async (c) => c.caller.list.moveEntry({ id: await listWithEntry(c), address: address(c), direction: 'down' }),
  },

  'wiki.revert': {
    needs: ['signedIn', 'edit'],
    call: async (c) => {
      const { revision } = await currentPageVersion(getDb(), c.sae.id, 2);
      await editFeature(getDb(), { saeId: c.sae.id, index: 2, label: `r${c.n}`, body: '', summary: '', baseRevision: revision, authorId: user.admin.id });
      return c.caller.wiki.revert({ ...feature(c, 2), revision: revision + 1, baseRevision: revision + 1 });
    },
  },
  'sae.setCurrentRun': {
    needs: ['signedIn', 'manage'],
    call: async (c) => {
      const { rows } = await getDb().execute<{ run: string }>(sql`select current_run_id as run from sae where id = ${c.sae.id}`);
      return c.caller.sae.setCurrentRun({ model: c.sae.model, sae: c.sae.sae, runId: rows[0]!.run });
    },
  },
  // with an endpoint set (the admin rows above may have removed it); enqueued, never run
  'sae.explain': {
    needs: ['signedIn', 'manage'],
    call: async (c) => {
      await setExplainer(getDb(), EXPLAINER, user.admin.id);
      return c.caller.sae.explain({ model: c.sae.model, sae: c.sae.sae, features: [1] });
    },
  },
  // a base URL: maintainers may; a directory on the server is for admins only (tests/integration/import-job.test.ts)
  'sae.importDashboards': {
    needs: ['signedIn', 'manage'],
    call: (c) => c.caller.sae.importDashboards({ model: c.sae.model, sae: c.sae.sae, format: 'neuronpedia', location: 'http://127.0.0.1:9/export' }),
  },
  'sae.topFeatures': { needs: ['signedIn', 'compute'], call: (c) => c.caller.sae.topFeatures({ model: c.sae.model, sae: c.sae.sae, input: { text: 'Once' } }) },
  // the model's search leaves out the SAEs the persona may not compute on, as if they were not there
  'model.topFeatures': {
    needs: ['signedIn', 'compute'],
    call: async (c) => {
      const { saes } = await c.caller.model.topFeatures({ model: c.sae.model, input: { text: 'Once' } });
      if (!saes.some((s) => s.sae === c.sae.sae)) throw Object.assign(new Error(`${c.sae.sae} was not searched`), { code: 'NOT_FOUND' });
      return saes;
    },
  },
  'wiki.propose': { needs: ['signedIn', 'edit'], call: (c) => c.caller.wiki.propose({ ...feature(c), label: `proposal ${c.n}` }) },
  'wiki.vote': {
    needs: ['signedIn', 'comment'],
    call: async (c) => {
      const { id } = await admin().wiki.propose({ ...feature(c, 3), label: `to vote ${c.n}` });
      return c.caller.wiki.vote({ ...feature(c, 3), proposalId: id });
    },
  },
  'wiki.unvote': { needs: ['signedIn', 'comment'], call: (c) => c.caller.wiki.unvote(feature(c, 3)) },
  'wiki.withdraw': {
    needs: ['signedIn', 'comment', 'author'],
    call: async (c) => {
      const { id } = await admin().wiki.propose({ ...feature(c, 3), label: `to withdraw ${c.n}` });
      return c.caller.wiki.withdraw({ ...feature(c, 3), proposalId: id });
    },
  },

  'comment.post': { needs: ['signedIn', 'comment'], call: (c) => c.caller.comment.post({ target: { kind: 'sae', saeId: c.sae.id }, body: `hello ${c.n}` }) },
  // someone else's comment (the admin's): only its author edits it, moderators (maintainers, admins) delete it
  'comment.edit': {
    needs: ['signedIn', 'comment', 'author'],
    call: async (c) => {
      const { id } = await admin().comment.post({ target: { kind: 'sae', saeId: c.sae.id }, body: `first ${c.n}` });
      return c.caller.comment.edit({ id, body: `edited ${c.n}` });
    },
  },
  'comment.delete': {
    needs: ['signedIn', 'comment', 'moderate'],
    call: async (c) => {
      const { id } = await admin().comment.post({ target: { kind: 'sae', saeId: c.sae.id }, body: `doomed ${c.n}` });
      return c.caller.comment.delete({ id });
    },
  },
  'comment.preview': { needs: ['signedIn'], call: (c) => c.caller.comment.preview({ body: 'see [[mx/open-sae/1]]' }) },

  'notification.markRead': { needs: ['signedIn'], call: (c) => c.caller.notification.markRead({ ids: [crypto.randomUUID()] }) },
  'notification.markAllRead': { needs: ['signedIn'], call: (c) => c.caller.notification.markAllRead() },
  'notification.watch': { needs: ['signedIn', 'comment'], call: (c) => c.caller.notification.watch({ kind: 'sae', targetId: c.sae.id, watching: true }) },

  'team.create': { needs: ['signedIn'], call: (c) => c.caller.team.create({ slug: `team-${c.n}`, name: `Team ${c.n}` }) },
  'team.invite': { needs: ['teamManage'], call: async (c) => c.caller.team.invite({ teamId: teamT, email: (await freshUser()).email!, role: 'viewer' }) },
  'team.cancelInvitation': { needs: ['teamManage'], call: (c) => c.caller.team.cancelInvitation({ teamId: teamT, email: `nobody${c.n}@example.org` }) },
  // an invitation to a team of its own for the persona's email, then taken up
  'team.acceptInvitation': {
    needs: ['signedIn'],
    call: async (c) => {
      const team = await createTeam(user.outsider, { slug: `inv-${c.n}`, name: `Invited ${c.n}` });
      await getDb().insert(teamInvitations).values({ teamId: team.id, email: c.me.email!, role: 'viewer' });
      return c.caller.team.acceptInvitation({ teamId: team.id });
    },
  },
  'team.declineInvitation': { needs: ['signedIn'], call: (c) => c.caller.team.declineInvitation({ teamId: teamT }) },
  'team.setRole': {
    needs: ['teamManage'],
    call: async (c) => {
      const u = await freshUser();
      await getDb().insert(teamMembers).values({ teamId: teamT, userId: u.id, role: 'viewer' });
      return c.caller.team.setRole({ teamId: teamT, userId: u.id, role: 'editor' });
    },
  },
  'team.removeMember': {
    needs: ['teamManage'],
    call: async (c) => {
      const u = await freshUser();
      await getDb().insert(teamMembers).values({ teamId: teamT, userId: u.id, role: 'viewer' });
      return c.caller.team.removeMember({ teamId: teamT, userId: u.id });
    },
  },
  // the SAE keeps the access it has (team T's, or public): only who may set it is tested here
  'team.setAccess': {
    needs: ['signedIn', 'manage'],
    call: (c) =>
      c.caller.team.setAccess({ model: c.sae.model, sae: c.sae.sae, ...(c.kind === 'team' ? { teamId: teamT, visibility: 'team' } : { teamId: null, visibility: 'public' }) }),
  },

  'admin.setRole': { needs: ['siteAdmin'], call: async (c) => c.caller.admin.setRole({ userId: (await freshUser()).id, role: 'viewer' }) },
  'admin.setDisabled': { needs: ['siteAdmin'], call: async (c) => c.caller.admin.setDisabled({ userId: (await freshUser()).id, disabled: true }) },
  'admin.setExplainer': { needs: ['siteAdmin'], call: (c) => c.caller.admin.setExplainer(EXPLAINER) },
  'admin.clearExplainer': { needs: ['siteAdmin'], call: (c) => c.caller.admin.clearExplainer() },
};

beforeAll(async () => {
  database = await startTestDatabase();
  for (const persona of ['admin', 'viewer', 'editor', 'maintainer', 'outsider'] as const) {
    const u = await signUp({ name: persona, email: `${persona}@example.org`, password: 'correct horse' });
    await setRole(getDb(), u.id, SITE_ROLE[persona]);
    user[persona] = { ...u, role: SITE_ROLE[persona] };
  }
  const model = await seedSyntheticModel(getDb(), {
    slug: MODEL,
    saes: [
      { slug: SAE.team.slug, hookName: 'blocks.1.hook_resid_post', dSae: 16 },
      { slug: SAE.public.slug, hookName: 'blocks.2.hook_resid_post', dSae: 16 },
    ],
    nContexts: 8,
    topExamples: 2,
  });
  SAE.team.id = model.saes[0]!.id;
  SAE.public.id = model.saes[1]!.id;
  teamT = (await createTeam(user.maintainer, { slug: 'tee', name: 'Team T' })).id;
  await addMember(user.maintainer, teamT, user.viewer.email!, 'viewer');
  await addMember(user.maintainer, teamT, user.editor.email!, 'editor');
  await createTeam(user.outsider, { slug: 'oh', name: 'Team O' });
  await setAccess(user.admin, 'sae', SAE.team.id, { teamId: teamT, visibility: 'team' }, 'the team SAE');
}, 120_000);

afterAll(async () => {
  await (await getQueue().catch(() => null))?.stop({ graceful: false });
  await getPool().end();
  await database?.stop();
});

const codeOf = (err: unknown) => (err as { code?: string }).code ?? String(err);

describe('the authorisation matrix', () => {
  it('has a row for every mutation of the router', () => {
    const mutations = Object.entries(appRouter._def.procedures as unknown as Record<string, { _def: { type: string } }>)
      .filter(([, p]) => p._def.type === 'mutation')
      .map(([name]) => name);
    expect(mutations.length).toBeGreaterThan(30);
    expect(mutations.filter((name) => !(name in MATRIX))).toEqual([]);
    expect(Object.keys(MATRIX).filter((name) => !mutations.includes(name))).toEqual([]);
  });

  it('answers every mutation × persona × SAE as the access rules say', async () => {
    const mismatches: string[] = [];
    let n = 0;
    for (const [name, row] of Object.entries(MATRIX)) {
      for (const kind of ['team', 'public'] as const) {
        for (const persona of PERSONAS) {
          n += 1;
          const c: Call = {
            persona,
            kind,
            caller: callerAs(persona),
            sae: { model: MODEL, sae: SAE[kind].slug, id: SAE[kind].id },
            me: persona === 'anonymous' ? user.admin : user[persona],
            n,
          };
          const want = expected(row.needs, persona, kind);
          let got: string;
          try {
            await row.call(c);
            got = 'ok';
          } catch (err) {
            got = codeOf(err);
            if (got !== want) got += ` (${(err as Error).message})`;
          }
          if (got !== want) mismatches.push(`${name} as ${persona} on the ${kind} SAE: expected ${want}, got ${got}`);
        }
      }
    }
    expect(mismatches).toEqual([]);
  }, 300_000);

  it('answers NOT_FOUND with the same message for an invisible SAE as for a missing one', async () => {
    const outsider = callerAs('outsider');
    const hidden = await outsider.feature.get({ model: MODEL, sae: SAE.team.slug, index: 1 }).catch((e: Error) => e.message);
    const missing = await outsider.feature.get({ model: MODEL, sae: 'no-such-sae', index: 1 }).catch((e: Error) => e.message);
    expect(hidden).toBe(`no feature ${MODEL}/${SAE.team.slug}/1`);
    expect(missing).toBe(`no feature ${MODEL}/no-such-sae/1`);
    const edit = (sae: string) => outsider.feature.edit({ model: MODEL, sae, index: 1, label: 'x', body: '', baseRevision: 0 }).catch((e: Error) => e.message);
    expect(await edit(SAE.team.slug)).toBe(`no feature ${MODEL}/${SAE.team.slug}/1`);
    expect(await edit('no-such-sae')).toBe(`no feature ${MODEL}/no-such-sae/1`);
  });
});

/**
 * Discussions against a real PostgreSQL, through tRPC: threads on features, SAEs and a hypothesis; replies; edits
 * with their history; tombstones that keep replies; refusals (empty, oversized, unknown parent, wrong author,
 * anonymous) that leave nothing behind; mentions and watchers notified; events on the thread's topic; feature links
 * kept in feature_link (comments and feature descriptions) and shown as chips and backlinks; and a team's private
 * model invisible to everyone outside the team in threads, chips, previews and backlinks. Cost bounds (issue 10): the
 * markdown attacks are refused at write time (posts, edits, previews, descriptions, hypotheses); hostile text stored
 * before the bounds shows a placeholder and leaves the rest readable; reads serve stored HTML without parsing, with
 * chips of current labels for the reader.
 */
import { readFileSync } from 'node:fs';
import { and, eq } from 'drizzle-orm';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { comments, featureLinks, featurePages, hypotheses, notifications, resourceAccess, teamMembers, teams, users } from '@/drizzle/schema';
import type { ThreadTarget } from '@/server/comments';
import { getDb, getPool } from '@/server/db';
import { renderCount } from '@/server/markdown';
import { setRole, signUp, type UserRow } from '@/server/users';
import { callerFor } from '../helpers/caller';
import { startTestDatabase, type TestDatabase } from '../helpers/database';
import { countRows, labelFeatures, seedSyntheticModel, type SyntheticModel } from '../helpers/synthetic';

const HOST = 'lexicon.test';
/** Requests to this site's host, so that pasted URLs of its feature pages are feature links. */
const caller = (user: UserRow | null) => callerFor(user, { host: HOST });
let database: TestDatabase;
let ada: UserRow; // admin
let bo: UserRow; // editor
let cy: UserRow; // editor, member of the red team
let vi: UserRow; // viewer
let eve: UserRow; // editor outside the team
let pub: SyntheticModel;
let secret: SyntheticModel;
let listener: pg.Client;
const events: { topic: string; type: string; id?: string }[] = [];

const feature = (index: number): ThreadTarget => ({ kind: 'feature', saeId: pub.saes[0]!.id, index });
const secretFeature = (index: number): ThreadTarget => ({ kind: 'feature', saeId: secret.saes[0]!.id, index });

async function expectCode(p: Promise<unknown>, code: string, message?: RegExp) {
  const err = await p.then(
    () => null,
    (e: { code?: string; message: string }) => e,
  );
  expect(err, 'the call was refused').not.toBeNull();
  expect((err as { code: string }).code).toBe(code);
  if (message) expect(err!.message).toMatch(message);
}

const notificationsOf = (user: UserRow) => getDb().select().from(notifications).where(eq(notifications.userId, user.id));
const linksOf = (commentId: string) =>
  getDb()
    .select({ model: featureLinks.modelSlug, sae: featureLinks.saeSlug, index: featureLinks.index })
    .from(featureLinks)
    .where(and(eq(featureLinks.sourceKind, 'comment'), eq(featureLinks.sourceId, commentId)))
    .then((rows) => rows.map((r) => `${r.model}/${r.sae}/${r.index}`).sort());

beforeAll(async () => {
  database = await startTestDatabase();
  ada = await signUp({ name: 'Ada', email: 'ada@example.org', password: 'correct horse' });
  bo = await signUp({ name: 'Bo Diddley', email: 'bo@example.org', password: 'battery staple' });
  cy = await signUp({ name: 'Cy', email: 'cyrus@example.org', password: 'battery staple' });
  vi = await signUp({ name: 'Vi', email: 'vi@example.org', password: 'battery staple' });
  eve = await signUp({ name: 'Eve', email: 'eve@example.org', password: 'battery staple' });
  await setRole(getDb(), vi.id, 'viewer');
  vi = { ...vi, role: 'viewer' };
  const db = getDb();
  pub = await seedSyntheticModel(db, { slug: 'synth', saes: [{ slug: '1-res', hookName: 'blocks.1.hook_resid_post', dSae: 20 }], seed: 5 });
  secret = await seedSyntheticModel(db, { slug: 'hidden', saes: [{ slug: 'h-res', hookName: 'blocks.1.hook_resid_post', dSae: 10 }], seed: 6 });
  await labelFeatures(db, pub.saes[0]!.id, [{ index: 4, label: 'quote marks' }], ada.id);
  await labelFeatures(db, secret.saes[0]!.id, [{ index: 2, label: 'secret label' }], ada.id);
  const [red] = await db.insert(teams).values({ slug: 'red', name: 'Red' }).returning();
  await db.insert(teamMembers).values({ teamId: red!.id, userId: cy.id, role: 'editor' });
  await db.insert(resourceAccess).values({ kind: 'model', resourceId: secret.id, teamId: red!.id, visibility: 'team' });

  listener = new pg.Client(database.url);
  await listener.connect();
  listener.on('notification', (n) => events.push(JSON.parse(n.payload!)));
  await listener.query('listen lexicon_event');
});

afterAll(async () => {
  await listener?.end();
  await getPool().end();
  await database?.stop();
});

describe('threads', () => {
  let first: string;
  let reply: string;

  it('posts a comment with chips for visible features and broken links for the rest', async () => {
    const body = [
      'The quote feature [[synth/1-res/4]] fires with [[synth/1-res/5|its sibling]]; see also',
      `http://${HOST}/synth/1-res/6, [[synth/1-res/999]], [[nope/x/1]] and [[hidden/h-res/2]].`,
      '',
      'Maths: $\\|W_{dec}\\|_2 = 1$ and a footnote[^1].',
      '',
      '[^1]: measured over 1M tokens',
    ].join('\n');
    ({ id: first } = await caller(bo).comment.post({ target: feature(3), body }));
    const thread = await caller(bo).comment.thread(feature(3));
    expect(thread.comments).toHaveLength(1);
    const [c] = thread.comments;
    expect(c!.author.name).toBe('Bo Diddley');
    expect(c!.html).toContain('<span class="feature-chip-label">quote marks</span>');
    expect(c!.html).toContain('<span class="feature-chip-label">its sibling</span>');
    expect(c!.html).toContain(`<a href="http://${HOST}/synth/1-res/6" class="feature-chip" data-feature="synth/1-res/6">`);
    for (const missing of ['synth/1-res/999', 'nope/x/1', 'hidden/h-res/2'])
      expect(c!.html).toContain(`<a href="/${missing}" class="feature-link broken" title="no such feature">${missing}</a>`);
    expect(c!.html).not.toContain('secret label');
    expect(c!.html).toContain('class="katex"');
    expect(c!.html).toContain(`id="user-content-c${first.slice(0, 8)}r0-fn-1"`);
    // every link is kept by address, also those to missing or invisible features
    expect(await linksOf(first)).toEqual(['hidden/h-res/2', 'nope/x/1', 'synth/1-res/4', 'synth/1-res/5', 'synth/1-res/6', 'synth/1-res/999']);
    expect(thread.viewer).toEqual({ signedIn: true, canComment: true, canModerate: false });
  });

  it('shows the team member the chip of their team’s feature', async () => {
    const thread = await caller(cy).comment.thread(feature(3));
    expect(thread.comments[0]!.html).toContain('<span class="feature-chip-label">secret label</span>');
  });

  it('threads replies under their parent, and notifies the watching author', async () => {
    ({ id: reply } = await caller(vi).comment.post({ target: feature(3), parentId: first, body: 'A viewer may reply.' }));
    const { id: nested } = await caller(bo).comment.post({ target: feature(3), parentId: reply, body: 'And reply to replies.' });
    const thread = await caller(null).comment.thread(feature(3));
    expect(thread.comments.map((c) => [c.id, c.parentId])).toEqual([
      [first, null],
      [reply, first],
      [nested, reply],
    ]);
    expect(thread.viewer).toEqual({ signedIn: false, canComment: false, canModerate: false });
    // posting watched the thread: Bo hears of Vi's reply (and not of his own)
    const mine = await notificationsOf(bo);
    expect(mine.filter((n) => n.kind === 'comment').map((n) => n.url)).toEqual([`/synth/1-res/3#comment-${reply}`]);
    expect(mine[0]!.summary).toBe('Vi commented on synth/1-res/3: “A viewer may reply.”');
  });

  it('publishes a comment event on the thread’s topic', async () => {
    await expect.poll(() => events.filter((e) => e.type === 'comment' && e.id === reply).map((e) => e.topic)).toEqual([`feature:${pub.saes[0]!.id}/3`]);
  });

  it('keeps SAE threads and other features’ threads apart', async () => {
    const sae: ThreadTarget = { kind: 'sae', saeId: pub.saes[0]!.id };
    const { id } = await caller(eve).comment.post({ target: sae, body: 'About the whole SAE.' });
    expect((await caller(eve).comment.thread(sae)).comments.map((c) => c.id)).toEqual([id]);
    expect((await caller(eve).comment.thread(feature(4))).comments).toEqual([]);
    await expect.poll(() => events.some((e) => e.id === id && e.topic === `sae:${pub.saes[0]!.id}`)).toBe(true);
  });

  it('edits keep the earlier versions, only for the author, and rewrite the feature links', async () => {
    await expectCode(caller(vi).comment.edit({ id: first, body: 'hijacked' }), 'FORBIDDEN', /only its author/);
    await expectCode(caller(ada).comment.edit({ id: first, body: 'hijacked' }), 'FORBIDDEN', /only its author/);
    const { revision } = await caller(bo).comment.edit({ id: first, body: 'Now only about [[synth/1-res/7]].' });
    expect(revision).toBe(1);
    await caller(bo).comment.edit({ id: first, body: 'Now only about [[synth/1-res/7]], really.' });
    const c = (await caller(vi).comment.thread(feature(3))).comments.find((x) => x.id === first)!;
    expect(c.revision).toBe(2);
    expect(c.editedAt).not.toBeNull();
    expect(c.history.map((h) => h.revision)).toEqual([1, 0]);
    expect(c.history[1]!.html).toContain('quote marks');
    expect(c.history[0]!.html).toContain('Now only about');
    expect(c.canEdit).toBe(false);
    expect(await linksOf(first)).toEqual(['synth/1-res/7']);
  });

  it('deleting leaves a tombstone that keeps the replies, and removes text, history and links', async () => {
    await expectCode(caller(vi).comment.delete({ id: first }), 'FORBIDDEN', /author or a moderator/);
    await caller(ada).comment.delete({ id: first });
    const thread = await caller(vi).comment.thread(feature(3));
    const tomb = thread.comments.find((c) => c.id === first)!;
    expect(tomb.deleted?.by).toBe('Ada');
    expect(tomb.body).toBe('');
    expect(tomb.html).toBe('');
    expect(tomb.history).toEqual([]);
    expect(thread.comments.find((c) => c.id === reply)!.parentId).toBe(first);
    expect(await linksOf(first)).toEqual([]);
    expect(await countRows(getDb(), 'comment_revision')).toBe(0);
    await expectCode(caller(bo).comment.edit({ id: first, body: 'back' }), 'BAD_REQUEST', /deleted/);
    await expectCode(caller(bo).comment.post({ target: feature(3), parentId: first, body: 'hello?' }), 'BAD_REQUEST', /deleted/);
    // the author deletes their own
    await caller(vi).comment.delete({ id: reply });
    expect((await caller(vi).comment.thread(feature(3))).comments.find((c) => c.id === reply)!.deleted?.by).toBe('Vi');
  });

  it('refuses bad input with a clear message, writing nothing', async () => {
    const before = await countRows(getDb(), 'comment');
    await expectCode(caller(bo).comment.post({ target: feature(3), body: '  \n ' }), 'BAD_REQUEST', /the comment is empty/);
    await expectCode(caller(bo).comment.post({ target: feature(3), body: 'x'.repeat(20_001) }), 'BAD_REQUEST', /longer than 20,000 characters/);
    await expectCode(
      caller(bo).comment.post({ target: feature(3), parentId: '00000000-0000-4000-8000-000000000000', body: 'hi' }),
      'BAD_REQUEST',
      /no comment .* in this thread/,
    );
    await expectCode(caller(bo).comment.post({ target: feature(20), body: 'hi' }), 'NOT_FOUND', /no feature synth\/1-res\/20/);
    await expectCode(caller(bo).comment.post({ target: { kind: 'sae', saeId: '00000000-0000-4000-8000-000000000000' }, body: 'hi' }), 'NOT_FOUND');
    await expectCode(caller(null).comment.post({ target: feature(3), body: 'hi' }), 'UNAUTHORIZED');
    await expectCode(caller(bo).comment.edit({ id: '00000000-0000-4000-8000-000000000000', body: 'hi' }), 'NOT_FOUND');
    expect(await countRows(getDb(), 'comment')).toBe(before);
  });
});

describe('mentions', () => {
  it('notifies mentioned users (by their @handle, any case) who may read the thread', async () => {
    expect([ada, bo, cy, vi, eve].map((u) => u.handle)).toEqual(['ada', 'bodiddley', 'cy', 'vi', 'eve']);
    const { id } = await caller(eve).comment.post({
      target: feature(8),
      body: 'Pinging @BoDiddley, @Cy and @vi. Not `@ada` in code, nor eve@example.org, nor @cyrus (an email’s local part, not a handle).',
    });
    for (const user of [bo, cy, vi]) {
      const mentions = (await notificationsOf(user)).filter((n) => n.kind === 'mention');
      expect(mentions.map((n) => n.url), user.name!).toEqual([`/synth/1-res/8#comment-${id}`]);
      expect(mentions[0]!.summary).toBe('Eve mentioned you on synth/1-res/8: “Pinging @BoDiddley, @Cy and @vi. Not `@ada` in code, nor eve@example.org, nor @…”');
    }
    expect((await notificationsOf(ada)).filter((n) => n.kind === 'mention')).toEqual([]);
    // an edit notifies only the newly mentioned
    await caller(eve).comment.edit({ id, body: 'Pinging @BoDiddley, @cy, @vi and @ada.' });
    expect((await notificationsOf(bo)).filter((n) => n.kind === 'mention')).toHaveLength(1);
    expect((await notificationsOf(ada)).filter((n) => n.kind === 'mention')).toHaveLength(1);
  });

  it('shows an account without a name (as GitHub may give) by its email’s local part, its @handle, everywhere', async () => {
    const db = getDb();
    const [gh] = await db.insert(users).values({ name: null, email: 'octo.cat@example.org', role: 'editor' }).returning();
    const { id } = await caller(gh!).comment.post({ target: feature(9), body: 'Hello @BoDiddley' });
    const thread = await caller(null).comment.thread(feature(9));
    expect(thread.comments.find((c) => c.id === id)!.author.name).toBe('octo.cat');
    const mention = (await notificationsOf(bo)).find((n) => n.url.endsWith(id))!;
    expect(mention.summary).toBe('octo.cat mentioned you on synth/1-res/9: “Hello @BoDiddley”');
    expect((await caller(bo).notification.list()).find((n) => n.id === mention.id)!.actor).toBe('octo.cat');
    await caller(gh!).feature.edit({ model: 'synth', sae: '1-res', index: 9, label: 'by a nameless account', body: '', summary: '', baseRevision: 0 });
    expect((await caller(null).wiki.history({ model: 'synth', sae: '1-res', index: 9 })).revisions.map((r) => r.author?.name)).toEqual(['octo.cat']);
  });

  it('links the @handles of real accounts to their pages, and gives comments stored before that their links on first read', async () => {
    const db = getDb();
    await db.insert(users).values({ name: 'Gone', email: 'gone@example.org', handle: 'gone', role: 'editor', disabled: true });
    const { id } = await caller(eve).comment.post({ target: feature(10), body: 'Thanks @Cy and @ada; not @nobody, not @gone, not `@vi`.' });
    const mentionLinks = (html: string) => [...html.matchAll(/<a href="([^"]*)" class="mention">([^<]*)<\/a>/g)].map((m) => `${m[1]} ${m[2]}`);
    const expected = [`/users/${cy.id} @Cy`, `/users/${ada.id} @ada`];
    const thread = await caller(null).comment.thread(feature(10));
    expect(mentionLinks(thread.comments.find((c) => c.id === id)!.html)).toEqual(expected);
    // a comment stored before mention links (its HTML without them): migration 0007 drops the HTML, the next read renders it
    await db.update(comments).set({ bodyHtml: '<p>Thanks @Cy and @ada</p>' }).where(eq(comments.id, id));
    const migration = readFileSync(new URL('../../drizzle/migrations/0007_mention_links.sql', import.meta.url), 'utf8');
    for (const statement of migration.split('--> statement-breakpoint')) await getPool().query(statement);
    const before = renderCount.value;
    const reread = await caller(vi).comment.thread(feature(10));
    expect(mentionLinks(reread.comments.find((c) => c.id === id)!.html)).toEqual(expected);
    expect(renderCount.value - before).toBe(1);
    await caller(vi).comment.thread(feature(10));
    expect(renderCount.value - before, 'stored again: the next read renders nothing').toBe(1);
  });

  it('does not notify users who may not read the thread', async () => {
    const { id } = await caller(cy).comment.post({ target: secretFeature(1), body: 'Team only: @eve @bodiddley @ada, see [[synth/1-res/9]]' });
    expect((await notificationsOf(eve)).filter((n) => n.url.includes(id))).toEqual([]);
    expect((await notificationsOf(bo)).filter((n) => n.url.includes(id))).toEqual([]);
    expect((await notificationsOf(ada)).filter((n) => n.url.includes(id))).toHaveLength(1);
  });
});

describe('visibility', () => {
  it('hides a team’s threads, chips, previews and backlinks from everyone outside it', async () => {
    const { id } = await caller(cy).comment.post({ target: secretFeature(3), body: 'Secret analysis of [[synth/1-res/10]]' });
    for (const outsider of [eve, bo, vi, null]) {
      await expectCode(caller(outsider).comment.thread(secretFeature(3)), 'NOT_FOUND', /no feature/);
      await expectCode(caller(outsider).featureLink.preview({ model: 'hidden', sae: 'h-res', index: 2 }), 'NOT_FOUND', /no feature hidden\/h-res\/2/);
      await expectCode(caller(outsider).featureLink.backlinks({ model: 'hidden', sae: 'h-res', index: 2 }), 'NOT_FOUND');
      expect(await caller(outsider).featureLink.backlinks({ model: 'synth', sae: '1-res', index: 10 })).toEqual([]);
    }
    await expectCode(caller(eve).comment.post({ target: secretFeature(3), body: 'let me in' }), 'NOT_FOUND');
    await expectCode(caller(eve).comment.delete({ id }), 'NOT_FOUND', /no comment/);
    // a missing feature answers exactly as an invisible one
    await expectCode(caller(eve).featureLink.preview({ model: 'hidden', sae: 'h-res', index: 99 }), 'NOT_FOUND', /no feature hidden\/h-res\/99/);
    // the team sees it all
    expect((await caller(cy).comment.thread(secretFeature(3))).comments.map((c) => c.id)).toEqual([id]);
    expect((await caller(cy).featureLink.backlinks({ model: 'synth', sae: '1-res', index: 10 })).map((b) => b.href)).toEqual([
      `/hidden/h-res/3#comment-${id}`,
    ]);
    expect((await caller(cy).featureLink.preview({ model: 'hidden', sae: 'h-res', index: 2 })).label).toBe('secret label');
  });
});

describe('backlinks and previews', () => {
  it('lists the comments and feature pages linking to a feature, newest first', async () => {
    const { id } = await caller(bo).comment.post({ target: feature(11), body: 'Compare with **[[synth/1-res/12]]**, it is the opposite.' });
    await caller(bo).feature.edit({ model: 'synth', sae: '1-res', index: 13, label: 'opposites', body: `Pairs with http://${HOST}/synth/1-res/12`, summary: '', baseRevision: 0 });
    const links = await caller(vi).featureLink.backlinks({ model: 'synth', sae: '1-res', index: 12 });
    expect(links.map((l) => [l.kind, l.href, l.title])).toEqual([
      ['feature_page', '/synth/1-res/13', 'synth/1-res/13 · opposites'],
      ['comment', `/synth/1-res/11#comment-${id}`, 'synth/1-res/11'],
    ]);
    expect(links[1]!.snippet).toBe('Compare with synth/1-res/12, it is the opposite.');
    expect(links[1]!.author).toBe('Bo Diddley');
    // the description renders its link as a chip too, and an edit removing it removes the backlink
    const page = await caller(vi).feature.get({ model: 'synth', sae: '1-res', index: 13 });
    expect(page.page.html).toContain('class="feature-chip" data-feature="synth/1-res/12"');
    await caller(bo).feature.edit({ model: 'synth', sae: '1-res', index: 13, label: 'opposites', body: 'No links now.', summary: '', baseRevision: 1 });
    expect((await caller(vi).featureLink.backlinks({ model: 'synth', sae: '1-res', index: 12 })).map((l) => l.kind)).toEqual(['comment']);
    // a comment in the feature's own thread is no backlink (it is on the page already)
    await caller(bo).comment.post({ target: feature(12), body: 'This one, [[synth/1-res/12]], is odd.' });
    expect((await caller(vi).featureLink.backlinks({ model: 'synth', sae: '1-res', index: 12 })).map((l) => l.kind)).toEqual(['comment']);
    // deleted comments are no backlinks
    await caller(bo).comment.delete({ id });
    expect(await caller(vi).featureLink.backlinks({ model: 'synth', sae: '1-res', index: 12 })).toEqual([]);
  });

  it('previews a feature: label, density and the top activation around its peak', async () => {
    const d = pub.saes[0]!.dashboards[4]!;
    const p = await caller(null).featureLink.preview({ model: 'synth', sae: '1-res', index: 4 });
    expect(p.label).toBe('quote marks');
    expect(p.density).toBeCloseTo(d.density, 12);
    expect(p.nonzeroCount).toBe(d.nonzeroCount);
    if (d.topExamples.length > 0) {
      const top = d.topExamples[0]!;
      const from = Math.max(0, top.maxPos - 8);
      expect(p.snippet!.pieces).toEqual(top.tokens.slice(from, Math.min(top.tokens.length, top.maxPos + 4)).map((t) => pub.vocab[t]));
      expect(p.snippet!.pieces[p.snippet!.peak]).toBe(pub.vocab[top.tokens[top.maxPos]!]);
      expect(p.snippet!.act).toBeCloseTo(top.maxAct, 5);
    } else {
      expect(p.snippet).toBeNull();
    }
  });

  it('renders chips in a preview of an unsaved comment', async () => {
    const { html } = await caller(vi).comment.preview({ body: '[[synth/1-res/4]] <script>x</script>' });
    expect(html).toContain('quote marks');
    expect(html).not.toContain('<script');
  });
});

describe('odd addresses', () => {
  it('treats odd slugs as data', async () => {
    const { html } = await caller(vi).comment.preview({ body: "[[a'b/c/1]] [[a.b/c--d/1]] [[x.y/z_w/2]]" });
    expect(html).toContain("[[a'b/c/1]]"); // not an address: stays text
    expect(html.match(/class="feature-link broken"/g)).toHaveLength(2);
  });
});

describe('cost bounds and stored HTML', () => {
  // The three attacks of issue 10.
  const NESTED_QUOTES = '>'.repeat(2500) + ' boom';
  const DEEP_QUOTES = Array.from({ length: 4000 }, (_, i) => '> '.repeat(i + 1)).join('\n').slice(0, 20_000);
  const NESTED_SQRT = '$' + '\\sqrt{'.repeat(300) + 'x' + '}'.repeat(300) + '$';
  const ATTACKS = [
    [NESTED_QUOTES, /too complex to show: nesting deeper than 16 levels/],
    [DEEP_QUOTES, /too complex to show: nesting deeper than 16 levels/],
    [NESTED_SQRT, /too complex to show: a formula longer than 1,000 characters/],
  ] as const;

  it('refuses the attacks of issue 10 when written, with a message, and stores nothing', async () => {
    for (const [body, message] of ATTACKS) {
      await expectCode(caller(bo).comment.post({ target: feature(15), body }), 'BAD_REQUEST', message);
      await expectCode(caller(bo).comment.preview({ body }), 'BAD_REQUEST', message);
      await expectCode(caller(bo).feature.preview({ body }), 'BAD_REQUEST', message);
      await expectCode(
        caller(bo).feature.edit({ model: 'synth', sae: '1-res', index: 15, label: 'x', body, summary: '', baseRevision: 0 }),
        'BAD_REQUEST',
        message,
      );
      await expectCode(caller(bo).hypothesis.create({ statement: 'hostile', body, features: ['synth/1-res/15'] }), 'BAD_REQUEST', message);
    }
    const { id } = await caller(bo).comment.post({ target: feature(15), body: 'A fine comment.' });
    for (const [body, message] of ATTACKS) await expectCode(caller(bo).comment.edit({ id, body }), 'BAD_REQUEST', message);
    const thread = await caller(bo).comment.thread(feature(15));
    expect(thread.comments.map((c) => c.body)).toEqual(['A fine comment.']);
    expect((await caller(bo).feature.get({ model: 'synth', sae: '1-res', index: 15 })).page.revision).toBe(0);
  });

  it('shows a placeholder for hostile text stored before the bounds, and the rest of the page as usual', async () => {
    const db = getDb();
    const saeId = pub.saes[0]!.id;
    // rows as written before this version: no stored HTML, and no bound checked
    const legacy = (body: string) => ({ threadKind: 'feature' as const, saeId, featureIndex: 16, authorId: bo.id, body });
    const [quotes, fine, sqrt] = await db
      .insert(comments)
      .values([legacy(NESTED_QUOTES), legacy('Old but fine: [[synth/1-res/4]] and [[hidden/h-res/2]].'), legacy(NESTED_SQRT)])
      .returning({ id: comments.id });
    await db.insert(featurePages).values({ saeId, index: 16, label: 'old page', body: DEEP_QUOTES, revision: 1 });
    const before = renderCount.value;
    let t0 = performance.now();
    const thread = await caller(vi).comment.thread(feature(16));
    const page = await caller(null).feature.get({ model: 'synth', sae: '1-res', index: 16 });
    expect(performance.now() - t0, 'first read, rendering the old rows').toBeLessThan(10_000);
    const html = (id: string) => thread.comments.find((c) => c.id === id)!.html;
    expect(html(quotes!.id)).toBe(
      '<p class="render-refused"><em>This comment could not be shown (nesting deeper than 16 levels (quotes and lists inside each other)).</em></p>',
    );
    expect(html(sqrt!.id)).toContain('This comment could not be shown (a formula longer than 1,000 characters)');
    expect(html(fine!.id)).toContain('<span class="feature-chip-label">quote marks</span>');
    expect(html(fine!.id)).toContain('<a href="/hidden/h-res/2" class="feature-link broken" title="no such feature">');
    expect(page.page.label).toBe('old page');
    expect(page.page.html).toContain('This description could not be shown (nesting deeper than 16 levels');
    expect((await caller(null).feature.current({ model: 'synth', sae: '1-res', index: 16 })).html).toContain('could not be shown');
    expect(renderCount.value - before).toBe(4);
    // what the first read rendered is stored: the next reads render nothing, and each reader still gets their chips
    const stored = await db.select({ html: comments.bodyHtml }).from(comments).where(eq(comments.featureIndex, 16));
    expect(stored.every((r) => r.html !== null)).toBe(true);
    t0 = performance.now();
    const again = await caller(cy).comment.thread(feature(16));
    await caller(null).feature.get({ model: 'synth', sae: '1-res', index: 16 });
    expect(performance.now() - t0).toBeLessThan(2_000);
    expect(renderCount.value - before).toBe(4);
    expect(again.comments.find((c) => c.id === fine!.id)!.html).toContain('<span class="feature-chip-label">secret label</span>');
    // a hypothesis whose stored reasoning is hostile shows the placeholder in its place, the rest of its page as usual
    const { id: hypothesisId } = await caller(bo).hypothesis.create({ statement: 'Old reasoning', body: 'fine', features: ['synth/1-res/16'] });
    await db.update(hypotheses).set({ body: NESTED_SQRT, bodyHtml: null }).where(eq(hypotheses.id, hypothesisId));
    const h = await caller(vi).hypothesis.get({ id: hypothesisId });
    expect(h.statement).toBe('Old reasoning');
    expect(h.html).toContain('This hypothesis could not be shown (a formula longer than 1,000 characters)');
    // an edit of the hostile comment to something fine is accepted
    await caller(bo).comment.edit({ id: quotes!.id, body: 'Fixed.' });
    expect((await caller(bo).comment.thread(feature(16))).comments.find((c) => c.id === quotes!.id)!.html).toBe('<p>Fixed.</p>');
  });

  it('serves a thread of 50 comments from stored HTML, with the current labels, rendering nothing', async () => {
    await labelFeatures(getDb(), pub.saes[0]!.id, [{ index: 18, label: 'first label' }], ada.id);
    for (let i = 0; i < 50; i++) {
      const body = `Comment ${i} on [[synth/1-res/18]] with *some* **markup**, $x_${i}^2$ and a footnote[^n].\n\n[^n]: note ${i}`;
      await caller(bo).comment.post({ target: feature(17), body });
    }
    const before = renderCount.value;
    const t0 = performance.now();
    const thread = await caller(vi).comment.thread(feature(17));
    const ms = performance.now() - t0;
    expect(thread.comments).toHaveLength(50);
    expect(renderCount.value).toBe(before);
    expect(ms, 'reading 50 stored comments').toBeLessThan(3_000);
    expect(thread.comments[7]!.html).toContain('<span class="feature-chip-label">first label</span>');
    expect(thread.comments[7]!.html).toContain(`id="user-content-c${thread.comments[7]!.id.slice(0, 8)}r0-fn-n"`);
    expect(JSON.stringify(thread).length).toBeLessThan(50 * 8_000);
    // a new label shows at once, without re-rendering anything
    await caller(ada).feature.edit({ model: 'synth', sae: '1-res', index: 18, label: 'second label', body: '', summary: '', baseRevision: 1 });
    const after = await caller(vi).comment.thread(feature(17));
    expect(after.comments.every((c) => c.html.includes('<span class="feature-chip-label">second label</span>'))).toBe(true);
    expect(renderCount.value).toBe(before); // the edit's description is empty
  });

  it('never makes readers load an image: it shows as a link', async () => {
    const { id } = await caller(bo).comment.post({ target: feature(19), body: 'Look: ![the plot](https://tracker.example/p.png?who=me)' });
    const c = (await caller(vi).comment.thread(feature(19))).comments.find((x) => x.id === id)!;
    expect(c.html).not.toContain('<img');
    expect(c.html).toContain('<a href="https://tracker.example/p.png?who=me" class="image-link" rel="nofollow noopener noreferrer">image: the plot</a>');
  });
});

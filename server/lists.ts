/**
 * Feature lists: named collections of features with a note per entry. Anyone with the link can read a list (its
 * id is its URL); its owner (or an admin) changes it.
 */
import { and, eq, sql } from 'drizzle-orm';
import { z } from 'zod';
import { formatSaeAddress, parseFeatureAddress, type FeatureAddress } from './addresses';
import { featureListEntries, featureLists } from '@/drizzle/schema';
import { authorize, authorizeOwner, visibleSaeSql, type Viewer } from './authz';
import { isUuid, withTransaction, type Db } from './db';
import { badInput, notFound } from './errors';
import type { Role } from './users';
import { displayNameSql } from './users';
import { findSae } from './visibility';
import { CARD_COLUMNS, cardEvidence, piecesByModel, type CardEvidence } from './feature-cards';

export type FeatureListRow = typeof featureLists.$inferSelect;

export const listInput = z.object({
  name: z.string().trim().min(1, 'give the list a name').max(200, 'the name is longer than 200 characters'),
  description: z.string().max(5000, 'the description is longer than 5000 characters').default(''),
});
export const noteInput = z.string().max(5000, 'the note is longer than 5000 characters');

export interface Actor {
  id: string;
  role: Role;
}

/** An entry: its feature's card (empty evidence where the SAE's current run has no dashboard for it) and the note. */
export interface ListEntry extends FeatureAddress, CardEvidence {
  note: string;
  position: number;
  addedAt: Date;
  label: string | null;
  density: number | null;
  nTokens: number | null;
}

export interface FeatureListView {
  id: string;
  name: string;
  description: string;
  ownerId: string | null;
  ownerName: string | null;
  createdAt: Date;
  entries: ListEntry[];
}

export interface ListSummary {
  id: string;
  name: string;
  description: string;
  ownerName: string | null;
  entries: number;
  createdAt: Date;
}

/** Whether an account may make lists and add to its own (pages show the controls; the list router checks). */
export function canMakeLists(account: { role: Role } | null | undefined): boolean {
  return account?.role === 'editor' || account?.role === 'admin';
}

export async function createList(db: Db, owner: Actor, input: z.input<typeof listInput>): Promise<FeatureListRow> {
  const { name, description } = listInput.parse(input);
  const [row] = await db.insert(featureLists).values({ name, description, ownerId: owner.id }).returning();
  return row!;
}

/** A list with the entries `viewer` may see (each with its feature's card), in one query for the entries. */
export async function getList(db: Db, viewer: Viewer, id: string): Promise<FeatureListView | undefined> {
  if (!isUuid(id)) return undefined;
  const { rows: lists } = await db.execute<Record<string, unknown>>(sql`
    select l.id, l.name, l.description, l.owner_id, l.created_at, ${displayNameSql()} as owner_name
      from feature_list l left join "user" u on u.id = l.owner_id
     where l.id = ${id}`);
  const list = lists[0];
  if (!list) return undefined;
  const { rows } = await db.execute<Record<string, unknown>>(sql`
    select m.id as model_id, m.content_hash as model_content_hash, m.slug as model, s.slug as sae, e.index, e.note, e.position, e.added_at,
           nullif(p.label, '') as label, f.density, f.n_tokens, ${CARD_COLUMNS}
      from feature_list_entry e
      join sae s on s.id = e.sae_id
      join model m on m.id = s.model_id
      left join feature_page p on p.sae_id = e.sae_id and p.index = e.index
      left join feature f on f.run_id = s.current_run_id and f.index = e.index
     where e.list_id = ${id} and ${visibleSaeSql(viewer, sql`e.sae_id`)}
     order by e.position, e.added_at`);
  const pieces = await piecesByModel(
    db,
    rows.map((r) => ({ id: r.model_id as string, slug: r.model as string, contentHash: r.model_content_hash as string })),
  );
  return {
    id: list.id as string,
    name: list.name as string,
    description: list.description as string,
    ownerId: (list.owner_id as string | null) ?? null,
    ownerName: (list.owner_name as string | null) ?? null,
    createdAt: new Date(list.created_at as string),
    entries: rows.map((r) => ({
      model: r.model as string,
      sae: r.sae as string,
      index: r.index as number,
      note: r.note as string,
      position: r.position as number,
      addedAt: new Date(r.added_at as string),
      label: (r.label as string | null) ?? null,
      density: (r.density as number | null) ?? null,
      nTokens: r.n_tokens === null ? null : Number(r.n_tokens),
      ...cardEvidence(r, pieces.get(r.model_id as string) ?? null),
    })),
  };
}

/** Lists, newest first: one owner's, or everyone's (counting the entries `viewer` may see). */
export async function listLists(db: Db, viewer: Viewer, filter: { ownerId?: string; limit?: number } = {}): Promise<ListSummary[]> {
  const { rows } = await db.execute<Record<string, unknown>>(sql`
    select l.id, l.name, l.description, l.created_at, ${displayNameSql()} as owner_name,
           (select count(*) from feature_list_entry e where e.list_id = l.id and ${visibleSaeSql(viewer, sql`e.sae_id`)})::int as entries
      from feature_list l left join "user" u on u.id = l.owner_id
     where ${filter.ownerId ? sql`l.owner_id = ${filter.ownerId}` : sql`true`}
     order by l.created_at desc, l.id
     limit ${filter.limit ?? 50}`);
  return rows.map((r) => ({
    id: r.id as string,
    name: r.name as string,
    description: r.description as string,
    ownerName: (r.owner_name as string | null) ?? null,
    entries: r.entries as number,
    createdAt: new Date(r.created_at as string),
  }));
}

/** The list, locked for the rest of the transaction, when `actor` may change it. */
async function editableList(tx: Db, actor: Actor, listId: string): Promise<FeatureListRow> {
  if (!isUuid(listId)) throw notFound(`no list ${listId}`);
  const [list] = await tx.select().from(featureLists).where(eq(featureLists.id, listId)).for('update');
  if (!list) throw notFound(`no list ${listId}`);
  authorizeOwner(actor, list.ownerId, 'only the owner of this list can change it');
  return list;
}

/** The id of an SAE `actor` may see (the same NOT_FOUND as for one that does not exist) that has all these features. */
async function saeIdOf(tx: Db, actor: Actor, address: { model: string; sae: string }, indices: number[]): Promise<string> {
  const sae = await findSae(tx, address.model, address.sae);
  const what = `SAE ${formatSaeAddress(address)}`;
  if (!sae) throw notFound(`no ${what}`);
  await authorize(tx, actor, 'read', { sae: sae.saeId }, what);
  const unknown = indices.filter((i) => i >= sae.dSae);
  if (unknown.length > 0) throw badInput(`${formatSaeAddress(address)} has ${sae.dSae} features: no feature ${unknown.join(', ')}`);
  return sae.saeId;
}

export function addressOrThrow(text: string): FeatureAddress {
  const address = parseFeatureAddress(text);
  if (!address) throw badInput(`"${text}" is not a feature address (model/sae/index)`);
  return address;
}

export async function updateList(db: Db, actor: Actor, listId: string, input: z.input<typeof listInput>): Promise<void> {
  const { name, description } = listInput.parse(input);
  await withTransaction(async (tx) => {
    await editableList(tx, actor, listId);
    await tx.update(featureLists).set({ name, description }).where(eq(featureLists.id, listId));
  });
}

export async function deleteList(db: Db, actor: Actor, listId: string): Promise<void> {
  await withTransaction(async (tx) => {
    await editableList(tx, actor, listId);
    await tx.delete(featureLists).where(eq(featureLists.id, listId));
  });
}

/** Adds a feature at the end of the list; a feature already there keeps its place and gets the new note if one is given. */
export async function addEntry(db: Db, actor: Actor, listId: string, address: FeatureAddress, note = ''): Promise<void> {
  noteInput.parse(note);
  await withTransaction(async (tx) => {
    await editableList(tx, actor, listId);
    const saeId = await saeIdOf(tx, actor, address, [address.index]);
    const [{ next }] = (
      await tx.execute<{ next: number }>(sql`select coalesce(max(position) + 1, 0)::int as next from feature_list_entry where list_id = ${listId}`)
    ).rows as [{ next: number }];
    await tx
      .insert(featureListEntries)
      .values({ listId, saeId, index: address.index, note, position: next })
      .onConflictDoUpdate({
        target: [featureListEntries.listId, featureListEntries.saeId, featureListEntries.index],
        set: note ? { note } : { note: sql`${featureListEntries.note}` },
      });
  });
}

/** The most features one request adds to a list. */
export const MAX_BATCH = 200;

/**
 * Adds features of one SAE at the end of the list, in the order given; those already there keep their place and
 * note. Refused whole when any index is not a feature of the SAE. Returns how many were new to the list.
 */
export async function addEntries(db: Db, actor: Actor, listId: string, sae: { model: string; sae: string }, indices: number[]): Promise<{ added: number }> {
  const distinct = [...new Set(indices)];
  if (distinct.length === 0) throw badInput('choose at least one feature to add');
  if (distinct.length > MAX_BATCH) throw badInput(`add at most ${MAX_BATCH} features at once (${distinct.length} given)`);
  return withTransaction(async (tx) => {
    await editableList(tx, actor, listId);
    const saeId = await saeIdOf(tx, actor, sae, distinct);
    const [{ next }] = (
      await tx.execute<{ next: number }>(sql`select coalesce(max(position) + 1, 0)::int as next from feature_list_entry where list_id = ${listId}`)
    ).rows as [{ next: number }];
    const added = await tx
      .insert(featureListEntries)
      .values(distinct.map((index, i) => ({ listId, saeId, index, note: '', position: next + i })))
      .onConflictDoNothing()
      .returning({ index: featureListEntries.index });
    return { added: added.length };
  });
}

export async function setEntryNote(db: Db, actor: Actor, listId: string, address: FeatureAddress, note: string): Promise<void> {
  noteInput.parse(note);
  await withTransaction(async (tx) => {
    await editableList(tx, actor, listId);
    const saeId = await saeIdOf(tx, actor, address, [address.index]);
    const rows = await tx
      .update(featureListEntries)
      .set({ note })
      .where(and(eq(featureListEntries.listId, listId), eq(featureListEntries.saeId, saeId), eq(featureListEntries.index, address.index)))
      .returning({ index: featureListEntries.index });
    if (rows.length === 0) throw notFound('that feature is not in this list');
  });
}

export async function removeEntry(db: Db, actor: Actor, listId: string, address: FeatureAddress): Promise<void> {
  await withTransaction(async (tx) => {
    await editableList(tx, actor, listId);
    const saeId = await saeIdOf(tx, actor, address, [address.index]);
    await tx
      .delete(featureListEntries)
      .where(and(eq(featureListEntries.listId, listId), eq(featureListEntries.saeId, saeId), eq(featureListEntries.index, address.index)));
  });
}

/** Moves an entry one place up or down (swapping positions with its neighbour). */
export async function moveEntry(db: Db, actor: Actor, listId: string, address: FeatureAddress, direction: 'up' | 'down'): Promise<void> {
  await withTransaction(async (tx) => {
    await editableList(tx, actor, listId);
    const saeId = await saeIdOf(tx, actor, address, [address.index]);
    const entries = await tx
      .select({ saeId: featureListEntries.saeId, index: featureListEntries.index, position: featureListEntries.position })
      .from(featureListEntries)
      .where(eq(featureListEntries.listId, listId))
      .orderBy(featureListEntries.position, featureListEntries.addedAt);
    const at = entries.findIndex((e) => e.saeId === saeId && e.index === address.index);
    if (at < 0) throw notFound('that feature is not in this list');
    const other = entries[direction === 'up' ? at - 1 : at + 1];
    if (!other) return;
    // Renumber densely in the new order (positions may have gaps after removals).
    const order = [...entries];
    [order[at], order[direction === 'up' ? at - 1 : at + 1]] = [other, entries[at]!];
    for (const [position, e] of order.entries()) {
      if (e.position === position) continue;
      await tx
        .update(featureListEntries)
        .set({ position })
        .where(and(eq(featureListEntries.listId, listId), eq(featureListEntries.saeId, e.saeId), eq(featureListEntries.index, e.index)));
    }
  });
}

/** Lists owned by `ownerId`, with whether each holds the feature (for "add to list" menus). */
export async function listsHolding(db: Db, owner: Actor, address: FeatureAddress): Promise<{ id: string; name: string; holds: boolean }[]> {
  const { rows } = await db.execute<{ id: string; name: string; holds: boolean }>(sql`
    select l.id, l.name, exists (
             select 1 from feature_list_entry e join sae s on s.id = e.sae_id join model m on m.id = s.model_id
              where e.list_id = l.id and m.slug = ${address.model} and s.slug = ${address.sae} and e.index = ${address.index}
                and ${visibleSaeSql(owner, sql`s.id`)}) as holds
      from feature_list l where l.owner_id = ${owner.id}
     order by l.created_at desc`);
  return rows;
}


import { TRPCError } from '@trpc/server';
import { z } from 'zod';
import {
  addEntry,
  addressOrThrow,
  createList,
  deleteList,
  getList,
  listInput,
  ListError,
  listLists,
  listsHolding,
  moveEntry,
  noteInput,
  removeEntry,
  setEntryNote,
  updateList,
} from '../../lists';
import { createTRPCRouter, publicProcedure, roleProcedure } from '../trpc';

const listId = z.string().uuid('not a list id');
/** A feature address as typed: model/sae/index (or [[model/sae/index]], or its page URL). */
const address = z.string().min(1, 'give a feature address').max(300);

/** Domain errors as tRPC errors with the same message. */
async function run<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof ListError) throw new TRPCError({ code: err.code, message: err.message });
    throw err;
  }
}

/** Making lists needs the editor role on the site; each list is then its owner's (lists.ts asks authz), and its
 * entries are features the viewer may see. */
const editorProcedure = roleProcedure('editor');

export const listRouter = createTRPCRouter({
  get: publicProcedure.input(z.object({ id: listId })).query(async ({ ctx, input }) => {
    const list = await getList(ctx.db, ctx.viewer, input.id);
    if (!list) throw new TRPCError({ code: 'NOT_FOUND', message: `no list ${input.id}` });
    return list;
  }),

  /** Recent lists (everyone's), and the signed-in account's own. */
  index: publicProcedure.query(async ({ ctx }) => {
    const userId = ctx.viewer?.id;
    const [recent, mine] = await Promise.all([
      listLists(ctx.db, ctx.viewer, { limit: 50 }),
      userId ? listLists(ctx.db, ctx.viewer, { ownerId: userId, limit: 100 }) : [],
    ]);
    return { recent, mine };
  }),

  /** The signed-in account's lists, with whether each holds a feature (for an "add to list" menu). */
  holding: editorProcedure.input(z.object({ address })).query(({ ctx, input }) =>
    run(() => listsHolding(ctx.db, ctx.session.user, addressOrThrow(input.address))),
  ),

  create: editorProcedure.input(listInput).mutation(async ({ ctx, input }) => {
    const row = await createList(ctx.db, ctx.session.user, input);
    return { id: row.id };
  }),

  update: editorProcedure.input(listInput.extend({ id: listId })).mutation(({ ctx, input }) =>
    run(() => updateList(ctx.db, ctx.session.user, input.id, input)),
  ),

  delete: editorProcedure.input(z.object({ id: listId })).mutation(({ ctx, input }) => run(() => deleteList(ctx.db, ctx.session.user, input.id))),

  addEntry: editorProcedure
    .input(z.object({ id: listId, address, note: noteInput.default('') }))
    .mutation(({ ctx, input }) => run(() => addEntry(ctx.db, ctx.session.user, input.id, addressOrThrow(input.address), input.note))),

  setNote: editorProcedure
    .input(z.object({ id: listId, address, note: noteInput }))
    .mutation(({ ctx, input }) => run(() => setEntryNote(ctx.db, ctx.session.user, input.id, addressOrThrow(input.address), input.note))),

  removeEntry: editorProcedure
    .input(z.object({ id: listId, address }))
    .mutation(({ ctx, input }) => run(() => removeEntry(ctx.db, ctx.session.user, input.id, addressOrThrow(input.address)))),

  moveEntry: editorProcedure
    .input(z.object({ id: listId, address, direction: z.enum(['up', 'down']) }))
    .mutation(({ ctx, input }) => run(() => moveEntry(ctx.db, ctx.session.user, input.id, addressOrThrow(input.address), input.direction))),
});

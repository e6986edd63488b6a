import { z } from 'zod';
import {
  addEntries,
  addEntry,
  addressOrThrow,
  createList,
  deleteList,
  getList,
  listInput,
  listLists,
  listsHolding,
  MAX_BATCH,
  moveEntry,
  noteInput,
  removeEntry,
  setEntryNote,
  updateList,
} from '../../lists';
import { notFound } from '../../errors';
import { featureIndexInput, saeAddressInput } from '../../address-inputs';
import { createTRPCRouter, publicProcedure, roleProcedure } from '../trpc';

const listId = z.string().uuid('not a list id');
/** A feature address as typed: model/sae/index (or [[model/sae/index]], or its page URL). */
const address = z.string().min(1, 'give a feature address').max(300);

/** Making lists needs the editor role on the site; each list is then its owner's (lists.ts asks authz), and its
 * entries are features the viewer may see. */
const editorProcedure = roleProcedure('editor');

export const listRouter = createTRPCRouter({
  get: publicProcedure.input(z.object({ id: listId })).query(async ({ ctx, input }) => {
    const list = await getList(ctx.db, ctx.viewer, input.id);
    if (!list) throw notFound(`no list ${input.id}`);
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
    listsHolding(ctx.db, ctx.session.user, addressOrThrow(input.address)),
  ),

  /** The signed-in account's own lists (for an "add these features to a list" menu). */
  mine: editorProcedure.query(({ ctx }) => listLists(ctx.db, ctx.viewer, { ownerId: ctx.session.user.id, limit: 100 })),

  create: editorProcedure.input(listInput).mutation(async ({ ctx, input }) => {
    const row = await createList(ctx.db, ctx.session.user, input);
    return { id: row.id };
  }),

  update: editorProcedure.input(listInput.extend({ id: listId })).mutation(({ ctx, input }) =>
    updateList(ctx.db, ctx.session.user, input.id, input),
  ),

  delete: editorProcedure.input(z.object({ id: listId })).mutation(({ ctx, input }) => deleteList(ctx.db, ctx.session.user, input.id)),

  addEntry: editorProcedure
    .input(z.object({ id: listId, address, note: noteInput.default('') }))
    .mutation(({ ctx, input }) => addEntry(ctx.db, ctx.session.user, input.id, addressOrThrow(input.address), input.note)),

  /** Adds features of one SAE (the feature table's ticked rows, the scatter's selection) at the end of a list. */
  addEntries: editorProcedure
    .input(
      saeAddressInput.extend({
        id: listId,
        indices: z.array(featureIndexInput).min(1, 'choose at least one feature to add').max(MAX_BATCH, `add at most ${MAX_BATCH} features at once`),
      }),
    )
    .mutation(({ ctx, input }) => addEntries(ctx.db, ctx.session.user, input.id, input, input.indices)),

  setNote: editorProcedure
    .input(z.object({ id: listId, address, note: noteInput }))
    .mutation(({ ctx, input }) => setEntryNote(ctx.db, ctx.session.user, input.id, addressOrThrow(input.address), input.note)),

  removeEntry: editorProcedure
    .input(z.object({ id: listId, address }))
    .mutation(({ ctx, input }) => removeEntry(ctx.db, ctx.session.user, input.id, addressOrThrow(input.address))),

  moveEntry: editorProcedure
    .input(z.object({ id: listId, address, direction: z.enum(['up', 'down']) }))
    .mutation(({ ctx, input }) => moveEntry(ctx.db, ctx.session.user, input.id, addressOrThrow(input.address), input.direction)),
});

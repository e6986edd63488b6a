/** Discussions (server/comments.ts): read a thread, post, reply, edit, delete, and preview markdown with chips. */
import { z } from 'zod';
import { commentBodyInput, deleteComment, editComment, postComment, readThread, threadTargetInput } from '../../comments';
import { previewWithChips, siteHosts } from '../../feature-links';
import { createTRPCRouter, protectedProcedure, publicProcedure } from '../trpc';

const commentId = z.string().uuid('not a comment id');

export const commentRouter = createTRPCRouter({
  /** Every comment of the thread, rendered, with what the viewer may do. */
  thread: publicProcedure.input(threadTargetInput).query(({ ctx, input }) => readThread(ctx.db, ctx.viewer, input, siteHosts(ctx.headers))),

  post: protectedProcedure
    .input(z.object({ target: threadTargetInput, parentId: commentId.nullish(), body: commentBodyInput }))
    .mutation(({ ctx, input }) => postComment(ctx.viewer, input, siteHosts(ctx.headers))),

  edit: protectedProcedure
    .input(z.object({ id: commentId, body: commentBodyInput }))
    .mutation(({ ctx, input }) => editComment(ctx.viewer, input.id, input.body, siteHosts(ctx.headers))),

  delete: protectedProcedure.input(z.object({ id: commentId })).mutation(({ ctx, input }) => deleteComment(ctx.viewer, input.id)),

  /** Markdown as a comment will show it (sanitised, chips for the features the viewer may see); refused as a post would be. */
  preview: protectedProcedure.input(z.object({ body: z.string().max(20_000, 'the comment is longer than 20,000 characters') })).mutation(async ({ ctx, input }) => {
    return { html: await previewWithChips(ctx.db, ctx.viewer, input.body, 'preview-', siteHosts(ctx.headers)) };
  }),
});

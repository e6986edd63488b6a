import { profileInput, register, signUpInput, updateProfile } from '../../users';
import { createTRPCRouter, protectedProcedure, publicProcedure } from '../trpc';

export const authRouter = createTRPCRouter({
  /** The same answer whether or not the email already has an account (server/users.ts register). */
  signUp: publicProcedure.input(signUpInput).mutation(({ input }) => register(input)),
  me: publicProcedure.query(({ ctx }) => ctx.session?.user ?? null),
  /** The signed-in account's own name and @handle. */
  updateProfile: protectedProcedure.input(profileInput).mutation(({ ctx, input }) => updateProfile(ctx.db, ctx.viewer.id, input)),
});

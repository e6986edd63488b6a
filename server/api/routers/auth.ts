import { TRPCError } from '@trpc/server';
import { Argon2Busy } from '../../passwords';
import { HandleTakenError, profileInput, register, signUpInput, updateProfile, UserChangeError } from '../../users';
import { createTRPCRouter, protectedProcedure, publicProcedure } from '../trpc';

/** argon2's bounded queue is full: a clear "busy, try again" rather than a wait without end. */
function busy(err: unknown): never {
  if (err instanceof Argon2Busy) throw new TRPCError({ code: 'TOO_MANY_REQUESTS', message: err.message, cause: err });
  throw err;
}

export const authRouter = createTRPCRouter({
  /** The same answer whether or not the email already has an account (server/users.ts register). */
  signUp: publicProcedure.input(signUpInput).mutation(({ input }) => register(input).catch(busy)),
  me: publicProcedure.query(({ ctx }) => ctx.session?.user ?? null),
  /** The signed-in account's own name and @handle. */
  updateProfile: protectedProcedure.input(profileInput).mutation(async ({ ctx, input }) => {
    try {
      return await updateProfile(ctx.db, ctx.viewer!.id, input);
    } catch (err) {
      if (err instanceof HandleTakenError) throw new TRPCError({ code: 'CONFLICT', message: err.message });
      if (err instanceof UserChangeError) throw new TRPCError({ code: err.code, message: err.message });
      throw err;
    }
  }),
});

import { TRPCError } from '@trpc/server';
import { DuplicateEmailError, signUp, signUpInput } from '../../users';
import { createTRPCRouter, publicProcedure } from '../trpc';

export const authRouter = createTRPCRouter({
  signUp: publicProcedure.input(signUpInput).mutation(async ({ input }) => {
    try {
      const user = await signUp(input);
      return { id: user.id, email: user.email, role: user.role };
    } catch (err) {
      if (err instanceof DuplicateEmailError) throw new TRPCError({ code: 'CONFLICT', message: err.message });
      throw err;
    }
  }),
  me: publicProcedure.query(({ ctx }) => ctx.session?.user ?? null),
});

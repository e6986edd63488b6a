import { authRouter } from './routers/auth';
import { jobRouter } from './routers/job';
import { modelRouter } from './routers/model';
import { saeRouter } from './routers/sae';
import { createCallerFactory, createTRPCRouter } from './trpc';

export const appRouter = createTRPCRouter({
  auth: authRouter,
  model: modelRouter,
  job: jobRouter,
  sae: saeRouter,
});

export type AppRouter = typeof appRouter;
export const createCaller = createCallerFactory(appRouter);

import { activityRouter } from './routers/activity';
import { authRouter } from './routers/auth';
import { featureRouter } from './routers/feature';
import { jobRouter } from './routers/job';
import { listRouter } from './routers/list';
import { modelRouter } from './routers/model';
import { saeRouter } from './routers/sae';
import { searchRouter } from './routers/search';
import { createCallerFactory, createTRPCRouter } from './trpc';

export const appRouter = createTRPCRouter({
  auth: authRouter,
  model: modelRouter,
  job: jobRouter,
  sae: saeRouter,
  feature: featureRouter,
  search: searchRouter,
  list: listRouter,
  activity: activityRouter,
});

export type AppRouter = typeof appRouter;
export const createCaller = createCallerFactory(appRouter);

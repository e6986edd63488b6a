import { activityRouter } from './routers/activity';
import { adminRouter } from './routers/admin';
import { apiTokenRouter } from './routers/api-token';
import { authRouter } from './routers/auth';
import { commentRouter } from './routers/comment';
import { featureRouter } from './routers/feature';
import { featureLinkRouter } from './routers/feature-link';
import { hypothesisRouter } from './routers/hypothesis';
import { jobRouter } from './routers/job';
import { listRouter } from './routers/list';
import { liveRouter } from './routers/live';
import { modelRouter } from './routers/model';
import { notificationRouter } from './routers/notification';
import { saeRouter } from './routers/sae';
import { searchRouter } from './routers/search';
import { teamRouter } from './routers/team';
import { wikiRouter } from './routers/wiki';
import { createCallerFactory, createTRPCRouter } from './trpc';

export const appRouter = createTRPCRouter({
  live: liveRouter,
  notification: notificationRouter,
  auth: authRouter,
  model: modelRouter,
  job: jobRouter,
  sae: saeRouter,
  feature: featureRouter,
  hypothesis: hypothesisRouter,
  search: searchRouter,
  list: listRouter,
  activity: activityRouter,
  wiki: wikiRouter,
  comment: commentRouter,
  featureLink: featureLinkRouter,
  team: teamRouter,
  admin: adminRouter,
  apiToken: apiTokenRouter,
});

export type AppRouter = typeof appRouter;
export const createCaller = createCallerFactory(appRouter);

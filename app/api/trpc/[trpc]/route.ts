import { fetchRequestHandler } from '@trpc/server/adapters/fetch';
import { getProcedureAtPath } from '@trpc/server/unstable-core-do-not-import';
import { appRouter } from '@/server/api/root';
import { createContext } from '@/server/api/trpc';
import { getDb } from '@/server/db';
import { eventHub } from '@/server/events';
import { BodyTooLarge, clientAddress, MAX_BATCH_SIZE, releasingWhenDone, sameOrigin, tooLarge, withCappedBody } from '@/server/limits';
import { StreamSlots } from '@/server/stream-slots';

// One count of open live streams per process, kept across Next.js dev reloads.
const globalForStreams = globalThis as unknown as { lexiconStreamSlots?: StreamSlots };
const streams = (globalForStreams.lexiconStreamSlots ??= new StreamSlots({
  db: getDb,
  backendPid: async () => {
    const hub = eventHub();
    await hub.ready();
    return hub.backendPid!;
  },
}));


/** The procedures a request calls (`/api/trpc/a.b,c.d`). */
function procedurePaths(req: Request): string[] {
  const { pathname } = new URL(req.url);
  const rest = pathname.slice(pathname.indexOf('/api/trpc/') + '/api/trpc/'.length);
  try {
    return decodeURIComponent(rest).split(',');
  } catch {
    return []; // malformed: tRPC answers it
  }
}

function refuse(status: number, message: string, headers: Record<string, string> = {}): Response {
  return Response.json({ error: { message } }, { status, headers });
}

async function handler(req: Request): Promise<Response> {
  const defs = await Promise.all(procedurePaths(req).map(async (path) => (await getProcedureAtPath(appRouter, path).catch(() => null))?._def));

  if (req.method === 'POST') {
    const inputless = defs.some((d) => d?.type === 'mutation' && d.inputs.length === 0);
    if (!sameOrigin(req.headers, inputless)) return refuse(403, 'this request did not come from a page of this site');
  }

  let release: (() => void) | null = null;
  if (defs.some((d) => d?.type === 'subscription')) {
    release = await streams.take(clientAddress(req.headers) ?? 'unknown');
    if (!release) return refuse(429, 'too many live connections: close some tabs, or try again later', { 'retry-after': '30' });
  }

  try {
    const capped = await withCappedBody(req);
    const res = await fetchRequestHandler({
      endpoint: '/api/trpc',
      req: capped,
      router: appRouter,
      maxBatchSize: MAX_BATCH_SIZE,
      createContext: () => createContext({ headers: req.headers }),
      // internal errors are logged (with the id the client is given) by the errorFormatter in server/api/trpc.ts
    });
    return release ? releasingWhenDone(res, release, req.signal) : res;
  } catch (err) {
    release?.();
    if (err instanceof BodyTooLarge) return tooLarge(err.limit);
    throw err;
  }
}

export { handler as GET, handler as POST };

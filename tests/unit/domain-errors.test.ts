/** The one place domain errors become tRPC's (server/api/trpc.ts), seen by an in-process caller and over HTTP. */
import { fetchRequestHandler } from '@trpc/server/adapters/fetch';
import { TRPCError, type TRPC_ERROR_CODE_KEY } from '@trpc/server';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import { InputError } from '@/compute/errors';
import { createTRPCRouter, publicProcedure, type Context } from '@/server/api/trpc';
import { badInput, conflict, DomainError, forbidden, notFound, notReady, unauthenticated } from '@/server/errors';

const KINDS: [DomainError, TRPC_ERROR_CODE_KEY][] = [
  [notFound('no model "gpt2"'), 'NOT_FOUND'],
  [unauthenticated(), 'UNAUTHORIZED'],
  [forbidden('you need the editor role here to edit this'), 'FORBIDDEN'],
  [conflict('the handle @ada is taken'), 'CONFLICT'],
  [badInput('the prompt is empty'), 'BAD_REQUEST'],
  [notReady('this SAE has no dashboards yet'), 'PRECONDITION_FAILED'],
  [new DomainError('rate-limited', 'you started 30 jobs in the last minute: try again in 5 s'), 'TOO_MANY_REQUESTS'],
];

let thrown: unknown;
const router = createTRPCRouter({
  fail: publicProcedure.input(z.object({ n: z.number() }).optional()).query(() => {
    throw thrown;
  }),
  stream: publicProcedure.subscription(async function* () {
    yield 1;
    throw thrown;
  }),
});
const context = { db: undefined, session: null, viewer: null, headers: new Headers() } as unknown as Context;
const caller = router.createCaller(context);

/** The error a client reads over HTTP (the batch link's shape, superjson-encoded). */
async function overHttp(input?: unknown): Promise<{ status: number; message: string; code: string; stack?: string }> {
  const query = input === undefined ? '' : `?input=${encodeURIComponent(JSON.stringify({ json: input }))}`;
  const res = await fetchRequestHandler({ endpoint: '/api/trpc', req: new Request(`http://localhost/api/trpc/fail${query}`), router, createContext: () => context });
  const { error } = (await res.json()) as { error: { json: { message: string; data: { code: string; stack?: string } } } };
  return { status: res.status, message: error.json.message, code: error.json.data.code, stack: error.json.data.stack };
}

afterEach(() => vi.restoreAllMocks());

describe('domain errors', () => {
  it.each(KINDS.map(([err, code]) => [err.kind, err, code] as const))('of kind %s reach the client as %s with their message', async (_kind, err, code) => {
    thrown = err;
    await expect(caller.fail()).rejects.toMatchObject({ code, message: err.message });
    await expect(caller.fail()).rejects.toBeInstanceOf(TRPCError);
    expect(await overHttp()).toMatchObject({ code, message: err.message });
  });

  it("map the compute library's InputError as bad input", async () => {
    thrown = new InputError('token id 600 is out of range');
    await expect(caller.fail()).rejects.toMatchObject({ code: 'BAD_REQUEST', message: 'token id 600 is out of range' });
  });

  it('thrown while a subscription streams, end it with their code', async () => {
    thrown = notFound('no feature m/s/1');
    const events: unknown[] = [];
    const stream = (async () => {
      for await (const event of await caller.stream()) events.push(event);
    })();
    await expect(stream).rejects.toMatchObject({ code: 'NOT_FOUND', message: 'no feature m/s/1' });
    expect(events).toEqual([1]);
  });

  it('leave input errors as one readable sentence', async () => {
    expect(await overHttp({})).toMatchObject({ status: 400, code: 'BAD_REQUEST', message: 'the n is missing' });
  });

  it('are not mistaken for an unexpected failure, which tells the client only an id and logs the rest', async () => {
    const logged = vi.spyOn(console, 'error').mockImplementation(() => {});
    thrown = new Error('relation "hypothesis" does not exist: select * from hypothesis where author_id = $1, params: secret');
    await expect(caller.fail()).rejects.toMatchObject({ code: 'INTERNAL_SERVER_ERROR' });
    const answer = await overHttp();
    expect(answer).toMatchObject({ status: 500, code: 'INTERNAL_SERVER_ERROR' });
    const id = /^internal error \(([0-9a-f]{8})\): it has been logged/.exec(answer.message)?.[1];
    expect(id, answer.message).toBeDefined();
    expect(answer.stack).toBeUndefined();
    expect(JSON.stringify(answer)).not.toMatch(/hypothesis|secret|select/);
    expect(logged).toHaveBeenCalledWith(expect.stringContaining(`internal error ${id} in fail`), expect.anything());
  });
});

/**
 * Answers a REST API request (app/api/v1): who it acts for (a bearer token, else an anonymous visitor: session cookies
 * do not count here, so no other site can make a browser write), its rate, its route in ./routes.ts, the inputs
 * parsed with the route's schemas, the tRPC procedure's answer checked against the response schema. Errors are JSON,
 * `{ error: { code, message } }`, with the HTTP status of their tRPC code.
 */
import { TRPCError } from '@trpc/server';
import { getHTTPStatusCodeFromError } from '@trpc/server/http';
import type { Session } from 'next-auth';
import { ZodError } from 'zod';
import { tokenHolder, type TokenHolder } from '../../api-tokens';
import { viewerOf } from '../../authz';
import { getDb, isConnectionLoss } from '../../db';
import { apiRatePerAddress, apiRatePerToken, BodyTooLarge, clientAddress, withCappedBody } from '../../limits';
import { takeRequest } from '../../rate-limit';
import { readableInputError } from '../input-errors';
import { createCaller } from '../root';
import { toTRPCError, type Context } from '../trpc';
import { openApiDocument } from './openapi';
import { ROUTES, type Route } from './routes';

export const API_PREFIX = '/api/v1';

class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

function errorResponse(err: unknown): Response {
  const headers = { 'cache-control': 'no-store' };
  if (err instanceof ApiError) return Response.json({ error: { code: err.code, message: err.message } }, { status: err.status, headers: { ...headers, ...err.headers } });
  if (err instanceof ZodError) return errorResponse(new ApiError(400, 'BAD_REQUEST', readableInputError(err)));
  if (err instanceof BodyTooLarge) return errorResponse(new ApiError(413, 'PAYLOAD_TOO_LARGE', `the request body is larger than ${err.limit} bytes`));
  if (isConnectionLoss(err)) return errorResponse(new ApiError(503, 'SERVICE_UNAVAILABLE', 'the database is unreachable right now (restarting?): try again in a moment', { 'retry-after': '5' }));
  const trpc = err instanceof TRPCError ? (toTRPCError(err) ?? err) : toTRPCError(err);
  if (trpc && trpc.code !== 'INTERNAL_SERVER_ERROR') {
    const message = trpc.cause instanceof ZodError ? readableInputError(trpc.cause) : trpc.message;
    return errorResponse(new ApiError(getHTTPStatusCodeFromError(trpc), trpc.code, message));
  }
  // as tRPC's errorFormatter does: the log has the details under an id the client can quote
  const id = crypto.randomUUID().slice(0, 8);
  console.error(`[api] internal error ${id}:`, err);
  return errorResponse(new ApiError(500, 'INTERNAL_SERVER_ERROR', `internal error (${id}): it has been logged; try again, or report this id`));
}

/** The bearer token's holder, or null without an Authorization header. */
async function holderOf(req: Request): Promise<TokenHolder | null> {
  const header = req.headers.get('authorization');
  if (header === null) return null;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  if (!match) throw new ApiError(401, 'UNAUTHORIZED', 'the Authorization header must be "Bearer lex_..." (a personal access token from your account page)');
  return tokenHolder(getDb(), match[1]!);
}

async function limitRate(req: Request, holder: TokenHolder | null): Promise<void> {
  const [key, perMinute, who] = holder
    ? [`token:${holder.tokenId}`, apiRatePerToken(), 'with this token']
    : [`address:${clientAddress(req.headers) ?? 'unknown'}`, apiRatePerAddress(), 'without a token from this address'];
  const wait = await takeRequest(getDb(), key, perMinute);
  if (wait !== null)
    throw new ApiError(429, 'TOO_MANY_REQUESTS', `more than ${perMinute} requests in a minute ${who}: try again in ${wait} s`, { 'retry-after': String(wait) });
}

/** Splits `/a/{b}` into its segments; a parameter is `{name}`. */
const segmentsOf = (path: string) => path.split('/').filter(Boolean);
const paramName = (segment: string) => (segment.startsWith('{') ? segment.slice(1, -1) : null);

/**
 * The routes of the path that matches, with its parameters; where several paths match, the one with a literal segment
 * where the others have a parameter, leftmost first (`/jobs/{id}` before `/{model}/{sae}`, `/{model}/{sae}/features`
 * before `/{model}/{sae}/{index}`).
 */
function matching(pathname: string): { route: Route; params: Record<string, string> }[] {
  let parts: string[];
  try {
    parts = segmentsOf(pathname).map(decodeURIComponent);
  } catch {
    throw new ApiError(400, 'BAD_REQUEST', 'the path is not valid percent-encoding');
  }
  const found: { route: Route; params: Record<string, string>; shape: string }[] = [];
  for (const route of ROUTES) {
    const segments = segmentsOf(route.path);
    if (segments.length !== parts.length) continue;
    const params: Record<string, string> = {};
    if (!segments.every((s, i) => (paramName(s) ? ((params[paramName(s)!] = parts[i]!), true) : s === parts[i]))) continue;
    found.push({ route, params, shape: segments.map((s) => (paramName(s) ? '1' : '0')).join('') });
  }
  const best = found.map((f) => f.shape).sort()[0];
  return found.filter((f) => f.shape === best);
}

async function bodyOf(req: Request): Promise<unknown> {
  const text = await (await withCappedBody(req)).text();
  try {
    return JSON.parse(text);
  } catch {
    throw new ApiError(400, 'BAD_REQUEST', 'the request body is not JSON');
  }
}

async function answer(req: Request): Promise<Response> {
  const url = new URL(req.url);
  const pathname = url.pathname.slice(url.pathname.indexOf(API_PREFIX) + API_PREFIX.length);
  const holder = await holderOf(req);
  await limitRate(req, holder);

  if (pathname === '/openapi.json' && req.method === 'GET') return Response.json(openApiDocument(url.origin));
  const candidates = matching(pathname);
  if (candidates.length === 0) throw new ApiError(404, 'NOT_FOUND', `no API route ${pathname} (the routes are in ${API_PREFIX}/openapi.json)`);
  const hit = candidates.find((c) => c.route.method === req.method);
  if (!hit) {
    const allow = candidates.map((c) => c.route.method).join(', ');
    throw new ApiError(405, 'METHOD_NOT_SUPPORTED', `${pathname} answers ${allow}, not ${req.method}`, { allow });
  }
  const { route } = hit;

  if (route.scope === 'write') {
    if (!holder) throw new ApiError(401, 'UNAUTHORIZED', 'writing needs a read-write token: send "Authorization: Bearer lex_..." (create one on your account page)');
    if (holder.scope !== 'read-write') throw new ApiError(403, 'FORBIDDEN', 'this token is read-only: create a read-write token on your account page to write');
  }

  const params = await route.params?.parseAsync(hit.params);
  const query = await route.query?.parseAsync(Object.fromEntries(url.searchParams));
  const body = await route.body?.parseAsync(await bodyOf(req));

  const session = holder && ({ user: { id: holder.viewer.id, role: holder.viewer.role, name: holder.name, email: holder.email }, expires: '' } as Session);
  const caller = createCaller({ db: getDb(), session, viewer: viewerOf(session), headers: req.headers } as Context, { signal: req.signal });
  const result = route.response.safeParse(await route.handle({ caller, params, query, body }));
  // the document promises this shape: a mismatch is a bug here, not the client's
  if (!result.success) throw new Error(`${route.method} ${route.path} answered outside its response schema: ${result.error.message}`);
  return Response.json(result.data, { status: route.status ?? 200, headers: { 'cache-control': 'no-store' } });
}

export async function handleApiRequest(req: Request): Promise<Response> {
  try {
    return await answer(req);
  } catch (err) {
    return errorResponse(err);
  }
}

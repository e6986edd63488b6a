/**
 * Request limits of the web process, applied by the route handlers (app/api/trpc, app/api/auth) before anything
 * parses a request: a byte limit on bodies (read with a cap, never buffered whole), tRPC's batch size, the caps on
 * live streams (SSE) per client address and per process (counted by server/stream-slots.ts), an Origin check for
 * mutations, and the REST API's request rates (app/api/v1; counted in PostgreSQL by server/rate-limit.ts).
 *
 * This module imports nothing of the server's but server/env.ts, so the browser's tRPC client can share MAX_BATCH_SIZE with it.
 */
import { wholeNumberSetting } from './env';

/** Calls in one tRPC batch; the client's httpBatchLink splits larger batches (`maxItems`). */
export const MAX_BATCH_SIZE = 32;

/** Bytes in one request body (tRPC and sign-in); a larger one is answered 413 before it is parsed. */
export const maxBodyBytes = () => wholeNumberSetting('LEXICON_MAX_BODY_BYTES', 1024 * 1024);
/** Open live streams (SSE) from one client address, and in this process. */
export const maxStreamsPerAddress = () => wholeNumberSetting('LEXICON_MAX_STREAMS_PER_ADDRESS', 256);
export const maxStreamsPerProcess = () => wholeNumberSetting('LEXICON_MAX_STREAMS', 1000);
/** REST API requests per minute with one token, and without one from one client address. */
export const apiRatePerToken = () => wholeNumberSetting('LEXICON_API_RATE', 600);
export const apiRatePerAddress = () => wholeNumberSetting('LEXICON_API_ANON_RATE', 60);

export class BodyTooLarge extends Error {
  constructor(readonly limit: number) {
    super(`the request body is larger than ${limit} bytes`);
  }
}

export function tooLarge(limit: number): Response {
  return Response.json({ error: { message: `the request body is larger than ${limit} bytes` } }, { status: 413, headers: { connection: 'close' } });
}

/**
 * The request with its body read into memory, at most `limit` bytes: a declared Content-Length over the limit is
 * refused without reading, and a body that goes on past it (chunked, or lying about its length) is cut off there.
 * Throws BodyTooLarge.
 */
export async function withCappedBody(req: Request, limit = maxBodyBytes()): Promise<Request> {
  if (req.method === 'GET' || req.method === 'HEAD' || !req.body) return req;
  const declared = Number(req.headers.get('content-length'));
  if (Number.isFinite(declared) && declared > limit) {
    await req.body.cancel().catch(() => undefined);
    throw new BodyTooLarge(limit);
  }
  const reader = req.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel().catch(() => undefined);
      throw new BodyTooLarge(limit);
    }
    chunks.push(value);
  }
  const body = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    body.set(chunk, offset);
    offset += chunk.byteLength;
  }
  const headers = new Headers(req.headers);
  headers.delete('content-length');
  return new Request(req.url, { method: req.method, headers, body, signal: req.signal });
}

/**
 * The client's address as the web server was told it: the last X-Forwarded-For entry (the one the nearest proxy, or
 * Next.js itself when there is none, added). Without a proxy a client can send its own header, so the per-address
 * cap is a courtesy; the per-process cap is the bound that holds.
 */
export function clientAddress(headers: Headers | undefined | null): string | null {
  const forwarded = headers?.get('x-forwarded-for');
  const last = forwarded?.split(',').at(-1)?.trim();
  // an address is short; whatever a client put there is cut so that it cannot bloat a table or a map
  return (last || headers?.get('x-real-ip')?.trim())?.slice(0, 64) || null;
}

/** The response with `releaseOnce` called once its body has ended, failed or been cancelled (the client went away). */
export function releasingWhenDone(res: Response, releaseOnce: () => void, signal?: AbortSignal): Response {
  let released = false;
  const release = () => {
    if (!released) (released = true), releaseOnce();
  };
  signal?.addEventListener('abort', release, { once: true });
  if (!res.body) {
    release();
    return res;
  }
  const reader = res.body.getReader();
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const { done, value } = await reader.read();
        if (done) {
          release();
          controller.close();
        } else controller.enqueue(value);
      } catch (err) {
        release();
        controller.error(err);
      }
    },
    cancel(reason) {
      release();
      return reader.cancel(reason);
    },
  });
  return new Response(body, { status: res.status, statusText: res.statusText, headers: res.headers });
}

/**
 * Whether a state-changing request comes from this site's own pages. An Origin header naming another site is refused
 * always; a missing one is refused when `requireOrigin` (a mutation without input: nothing in its body shows that a
 * script of ours sent it, so a plain cross-site form could). Browsers send Origin with every POST.
 */
export function sameOrigin(headers: Headers, requireOrigin: boolean): boolean {
  const origin = headers.get('origin');
  if (!origin || origin === 'null') return !requireOrigin && !origin;
  let host: string;
  try {
    host = new URL(origin).host;
  } catch {
    return false;
  }
  const own = [headers.get('x-forwarded-host'), headers.get('host')].filter(Boolean).flatMap((h) => h!.split(',').map((s) => s.trim()));
  return own.includes(host);
}

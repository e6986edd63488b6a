/** The request limits' building blocks (server/limits.ts) and the cursor check, without a server. */
import { describe, expect, it } from 'vitest';
import { BadCursor, decodeCursor, encodeCursor } from '@/server/cursor';
import { BodyTooLarge, clientAddress, releasingWhenDone, sameOrigin, withCappedBody } from '@/server/limits';

const post = (body: BodyInit, headers: Record<string, string> = {}) =>
  new Request('http://lexicon.test/api/trpc/auth.signUp', { method: 'POST', body, headers, duplex: 'half' } as RequestInit);

/** A body that streams `chunks` chunks of `size` bytes with no Content-Length, counting what was read. */
function streamed(chunks: number, size: number) {
  let sent = 0;
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (sent === chunks) return controller.close();
      sent++;
      controller.enqueue(new Uint8Array(size).fill(120));
    },
  });
  return { stream, sent: () => sent };
}

describe('request bodies', () => {
  it('passes a body within the limit on unchanged', async () => {
    const req = await withCappedBody(post('{"json":{"a":1}}', { 'content-type': 'application/json' }), 100);
    expect(await req.text()).toBe('{"json":{"a":1}}');
    expect(req.headers.get('content-type')).toBe('application/json');
  });

  it('refuses a declared Content-Length over the limit without reading the body', async () => {
    const body = streamed(1000, 1024);
    const req = post(body.stream, { 'content-length': String(1000 * 1024) });
    await expect(withCappedBody(req, 64 * 1024)).rejects.toBeInstanceOf(BodyTooLarge);
    expect(body.sent()).toBeLessThanOrEqual(2);
  });

  it('stops reading a streamed body as soon as it passes the limit', async () => {
    const body = streamed(10_000, 1024); // 10 MB if read to the end
    await expect(withCappedBody(post(body.stream), 64 * 1024)).rejects.toBeInstanceOf(BodyTooLarge);
    expect(body.sent()).toBeLessThan(80);
  });
});

describe('live stream slots', () => {
  it('releases when a streamed response ends or the client goes away', async () => {
    let released = 0;
    const ended = releasingWhenDone(new Response('data: 1\n\n'), () => released++);
    await ended.text();
    expect(released).toBe(1);

    const abort = new AbortController();
    let n = 0;
    const endless = new Response(new ReadableStream({ pull: (c) => c.enqueue(new TextEncoder().encode(`data: ${n++}\n\n`)) }));
    const wrapped = releasingWhenDone(endless, () => released++, abort.signal);
    const reader = wrapped.body!.getReader();
    await reader.read();
    abort.abort();
    await reader.cancel();
    expect(released).toBe(2);
  });

  it('takes the address Next.js (or the nearest proxy) added', () => {
    expect(clientAddress(new Headers({ 'x-forwarded-for': '10.0.0.9, 127.0.0.1' }))).toBe('127.0.0.1');
    expect(clientAddress(new Headers())).toBeNull();
  });
});

describe('the Origin check', () => {
  const h = (headers: Record<string, string>) => new Headers({ host: 'lexicon.test:3000', ...headers });
  it('accepts this site, refuses another, and refuses none only where required', () => {
    expect(sameOrigin(h({ origin: 'http://lexicon.test:3000' }), true)).toBe(true);
    expect(sameOrigin(h({ origin: 'http://evil.test' }), false)).toBe(false);
    expect(sameOrigin(h({ origin: 'http://lexicon.test:3001' }), false)).toBe(false);
    expect(sameOrigin(h({ origin: 'null' }), false)).toBe(false);
    expect(sameOrigin(h({}), false)).toBe(true);
    expect(sameOrigin(h({}), true)).toBe(false);
  });
});

describe('page cursors', () => {
  const forged = (text: string) => Buffer.from(text).toString('base64url');
  const id = '0b9b2f0e-6a1c-4c1e-9d2a-3f4e5a6b7c8d';
  it('round-trips a real one', () => {
    expect(decodeCursor(encodeCursor('2026-12-06 20:31:07.123456+00', id))).toEqual({ at: '2026-12-06 20:31:07.123456+00', id });
  });
  it.each([
    ['not base64 at all', '%%%'],
    ['no separator', forged('2026-12-06 20:31:07+00')],
    ['month 13', forged(`2026-13-06 20:31:07+00|${id}`)],
    ['30 February', forged(`2026-02-30 20:31:07+00|${id}`)],
    ['hour 25', forged(`2026-12-06 25:31:07+00|${id}`)],
    ['36 dashes for an id', forged(`2026-12-06 20:31:07+00|${'-'.repeat(36)}`)],
    ['an extra part', forged(`2026-12-06 20:31:07+00|${id}|x`)],
  ])('refuses %s with BAD_REQUEST', (_what, cursor) => {
    expect(() => decodeCursor(cursor)).toThrow(BadCursor);
    try {
      decodeCursor(cursor);
    } catch (err) {
      expect((err as BadCursor).kind).toBe('bad-input');
    }
  });
});

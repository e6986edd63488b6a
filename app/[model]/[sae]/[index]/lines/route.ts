/**
 * GET /{model}/{sae}/{index}/lines?run=R&v=V&r=RADIUS&lists=top,random: a feature's example lists as its page shows
 * them, as JSON { list: html }, for a browser that has the page without them (a client navigation, a section opened
 * later). The reader's access is checked on every request (feature.get). The run and the feature row's version name
 * the lines exactly, so the ETag is theirs and the build's, and a revalidation that still holds is answered 304.
 */
import { TRPCError } from '@trpc/server';
import { NextResponse, type NextRequest } from 'next/server';
import { api } from '@/server/api/server-caller';
import { htmlPartsEtag, ifNoneMatchHits } from '@/server/http-cache';
import { exampleList } from '../evidence';

/** Lists one request may ask for: a page shows a top, a random and at most a few dozen interval lists. */
const MAX_LISTS = 32;
const MAX_RADIUS = 512;
/** Per reader (access is checked on every use), stored, and asked about every time. */
const CACHE_CONTROL = 'private, no-cache';

const refuse = (status: number, error: string) => NextResponse.json({ error }, { status });

export async function GET(request: NextRequest, { params }: { params: Promise<{ model: string; sae: string; index: string }> }) {
  const { model, sae, index: rawIndex } = await params;
  const search = request.nextUrl.searchParams;
  const radius = Number(search.get('r'));
  const lists = (search.get('lists') ?? '').split(',');
  if (!/^\d{1,9}$/.test(rawIndex)) return refuse(400, `not a feature index: ${JSON.stringify(rawIndex)}`);
  if (!Number.isInteger(radius) || radius < 1 || radius > MAX_RADIUS) return refuse(400, `r: the tokens either side of a line's centre, 1 to ${MAX_RADIUS}`);
  if (lists.length > MAX_LISTS) return refuse(400, `lists: at most ${MAX_LISTS}`);

  const index = Number(rawIndex);
  let page;
  try {
    page = await (await api()).feature.get({ model, sae, index });
  } catch (err) {
    // NOT_FOUND also stands for a feature the reader may not see (server/authz)
    if (err instanceof TRPCError && (err.code === 'NOT_FOUND' || err.code === 'BAD_REQUEST')) return refuse(404, err.message);
    throw err;
  }
  if (!page.stats || page.run?.id !== search.get('run') || page.stats.version !== search.get('v')) {
    return refuse(409, 'the feature’s dashboard has changed since the page was read: reload the page');
  }
  const feature = { ...page, address: { model: page.model.slug, sae: page.sae.slug, index } };
  const rendered = new Map<string, { key: string; html: string }>();
  for (const list of lists) {
    const entry = exampleList(feature, list, radius);
    if (!entry) return refuse(400, `lists: no example list named ${JSON.stringify(list)} (top, random or i{N}, each with an optional .{limit})`);
    rendered.set(list, entry);
  }
  const etag = htmlPartsEtag([...rendered.values()].map((entry) => entry.key));
  const headers = { etag, 'cache-control': CACHE_CONTROL };
  if (ifNoneMatchHits(request.headers.get('if-none-match'), etag)) return new NextResponse(null, { status: 304, headers });
  return NextResponse.json(Object.fromEntries([...rendered].map(([list, entry]) => [list, entry.html])), { headers });
}

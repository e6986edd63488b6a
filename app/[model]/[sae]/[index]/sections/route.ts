/**
 * GET /{model}/{sae}/{index}/sections?v=V: the feature page's static sections (../sections) as JSON { name: html }, for
 * a browser that has the page without them (a client navigation brings only their keys). V (sectionsVersion) only
 * tells the browser's answers for other sections apart: the sections are always the current ones. The reader's access is checked
 * on every request (feature.get); the sections' keys name their HTML, so a revalidation that still holds is answered 304.
 */
import { TRPCError } from '@trpc/server';
import { NextResponse, type NextRequest } from 'next/server';
import { api } from '@/server/api/server-caller';
import { htmlPartsEtag, ifNoneMatchHits } from '@/server/http-cache';
import { featureSections } from '../sections';

/** Per reader (access is checked on every use), stored, and asked about every time. */
const CACHE_CONTROL = 'private, no-cache';

const refuse = (status: number, error: string) => NextResponse.json({ error }, { status, headers: { 'cache-control': CACHE_CONTROL } });

export async function GET(request: NextRequest, { params }: { params: Promise<{ model: string; sae: string; index: string }> }) {
  const { model, sae, index: rawIndex } = await params;
  if (!/^\d{1,9}$/.test(rawIndex)) return refuse(400, `not a feature index: ${JSON.stringify(rawIndex)}`);
  let page;
  try {
    page = await (await api()).feature.get({ model, sae, index: Number(rawIndex), intervalExamples: false });
  } catch (err) {
    // NOT_FOUND also stands for a feature the reader may not see (server/authz)
    if (err instanceof TRPCError && (err.code === 'NOT_FOUND' || err.code === 'BAD_REQUEST')) return refuse(404, err.message);
    throw err;
  }
  const sections = Object.entries(featureSections(page));
  const headers = { etag: htmlPartsEtag(sections.map(([, section]) => section.key)), 'cache-control': CACHE_CONTROL };
  if (ifNoneMatchHits(request.headers.get('if-none-match'), headers.etag)) return new NextResponse(null, { status: 304, headers });
  return NextResponse.json(Object.fromEntries(sections.map(([name, section]) => [name, section.html])), { headers });
}

'use client';
/**
 * Server-rendered HTML delivered by key: HTML the server wrote as a string and keeps under `htmlKey`
 * (server/html-cache.ts) reaches the page once, in its HTML. The client component's server render takes it from the
 * cache (app/_lib/rendered-html) and hydration keeps the server's DOM (the browser renders no HTML of its own there,
 * so React never rewrites it); the flight data carries only the key.
 *
 * A mount without it (a client navigation to the page brings only the key, a section opened later) is recovered from
 * `source`: a URL answering JSON { name: html } for the page's parts, fetched once for all the parts that name it.
 * Without a source the page is loaded in full, which has the HTML.
 */
import { useQuery } from '@tanstack/react-query';
import { createElement, useEffect, useRef, useState, type HTMLAttributes } from 'react';
import { renderedHtml } from '../_lib/rendered-html';

/** Where a part is recovered from: `source` answers { [name]: html }; `shown: false` fetches nothing yet. */
export interface HtmlSource {
  source: string;
  name: string;
  shown?: boolean;
}

/** The parts a source answers. */
async function fetchParts(source: string): Promise<Record<string, string>> {
  const response = await fetch(source);
  const body = (await response.json().catch(() => null)) as (Record<string, string> & { error?: string }) | null;
  if (!response.ok || !body) throw new Error(body?.error ?? `this part of the page could not be loaded (HTTP ${response.status})`);
  return body;
}

/**
 * The HTML of an element `ref` that the server filled from the cache under `htmlKey`, or once it mounted empty, its
 * part fetched from `from` (the page is reloaded when there is no source); `pending`: it mounted empty and waits.
 */
export function useServerHtml<E extends HTMLElement>(htmlKey: string | undefined, from?: HtmlSource) {
  const ref = useRef<E>(null);
  const [missing, setMissing] = useState(false);
  const fetched = useQuery({
    queryKey: ['server-html', from?.source],
    queryFn: () => fetchParts(from!.source),
    enabled: missing && !!from && from.shown !== false,
    staleTime: Infinity,
  });
  useEffect(() => {
    if (ref.current!.hasChildNodes()) return;
    if (from) setMissing(true);
    else window.location.reload();
    // the first mount only: an element emptied later (an expanded line's list) is not recovered
  }, []);
  const html = (htmlKey ? renderedHtml(htmlKey) : undefined) ?? (missing && from ? fetched.data?.[from.name] : undefined) ?? '';
  return { ref, html, pending: missing && fetched.isPending, error: fetched.error };
}

type Tag = 'div' | 'details' | 'p' | 'tbody';

/**
 * An element whose content is server-rendered HTML kept under `htmlKey` (see above). Give it `key={htmlKey}`: other
 * HTML is another element, mounted afresh.
 */
export function ServerHtml({ as = 'div', htmlKey, from, ...attributes }: { as?: Tag; htmlKey: string; from?: HtmlSource } & HTMLAttributes<HTMLElement>) {
  const { ref, html, pending, error } = useServerHtml<HTMLElement>(htmlKey, from);
  const element = createElement(as, { ...attributes, ref, dangerouslySetInnerHTML: { __html: html }, suppressHydrationWarning: true });
  if (!pending && !error) return element;
  return (
    <>
      {element}
      {pending ? (
        <p className="muted small">Loading…</p>
      ) : (
        <p className="error small" role="alert">
          {error!.message}
        </p>
      )}
    </>
  );
}

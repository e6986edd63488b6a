'use client';
/**
 * A table body whose rows the server wrote as HTML (./feature-rows) and keeps under `htmlKey` (server/html-cache.ts),
 * so that they reach the page once, in its HTML: this component's server render takes them from the cache
 * (app/_lib/rendered-html), and hydration keeps the server's DOM (the browser renders no HTML of its own here, so
 * React never rewrites it). The flight data carries only the key.
 *
 * For a page that is loaded in full: the table's own links and form are plain (full page loads). A client
 * navigation to it anyway (the browser's back button after one away from it) brings only the key, and mounts this
 * body empty: then the page is loaded in full, which has the rows.
 */
import { useEffect, useRef } from 'react';
import { renderedHtml } from '../_lib/rendered-html';

/** Give it `key={htmlKey}`: other rows are another body, mounted afresh. */
export function ServerRows({ htmlKey }: { htmlKey: string }) {
  const body = useRef<HTMLTableSectionElement>(null);
  useEffect(() => {
    if (!body.current!.hasChildNodes()) window.location.reload();
  }, []);
  return <tbody ref={body} dangerouslySetInnerHTML={{ __html: renderedHtml(htmlKey) ?? '' }} suppressHydrationWarning />;
}

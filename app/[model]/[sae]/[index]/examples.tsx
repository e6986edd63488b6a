'use client';
/**
 * An example list in the browser: the lines the server wrote as HTML (./example-lines), the keys and hover of token
 * lines, and an expand button on each line that leaves tokens out, which fetches the whole contexts (feature.get,
 * once for every line of the page) and shows its line's, written by the same code. The lines reach the browser as
 * HTML and once more as one string in the flight data (no data of their own); React never diffs inside the list,
 * so expanding edits the line's DOM.
 */
import { useQueryClient } from '@tanstack/react-query';
import { useEffect, useMemo, useRef, type MouseEvent } from 'react';
import tokenStyles from '../../../_components/tokens.module.css';
import type { FeatureAddress } from '@/server/addresses';
import { tokenLineEvents } from '../../../_components/tokens';
import { useTRPC } from '../../../trpc';
import { exampleTokens, exampleTokenTip, findExample, fromFlight } from './example-lines';
import styles from './feature.module.css';

/** The windowed tokens of the lines now expanded and their name, to put back on collapse. */
const windows = new WeakMap<HTMLElement, { html: string; label: string; cut?: string }>();

/** `lines`: the list's <li>s as example-lines wrote them, through toFlight. */
export function ExampleLines({ address, scale, lines }: { address: FeatureAddress; scale: number; lines: string }) {
  const html = useMemo(() => fromFlight(lines), [lines]);
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const events = useMemo(() => tokenLineEvents(exampleTokenTip), []);
  const list = useRef<HTMLOListElement>(null);
  // every render: the lines may be new ones (another feature's page, a recompute)
  useEffect(() => {
    for (const line of list.current!.querySelectorAll('li > [data-cut]')) {
      if (line.nextElementSibling?.matches('button[data-expand]')) continue;
      const button = document.createElement('button');
      button.type = 'button';
      button.className = tokenStyles.expand!;
      button.dataset.expand = '';
      setExpanded(button, false);
      line.after(button);
    }
  });

  const onClick = async (e: MouseEvent<HTMLOListElement>) => {
    const button = e.target instanceof HTMLElement ? e.target.closest<HTMLButtonElement>('button[data-expand]') : null;
    const item = button?.closest('li');
    const tokens = item?.querySelector<HTMLElement>('[role=group]');
    if (!button || !item || !tokens) return;
    item.querySelector('[role=alert]')?.remove();
    const windowed = windows.get(tokens);
    if (windowed !== undefined) {
      show(tokens, windowed);
      windows.delete(tokens);
      setExpanded(button, false);
      return;
    }
    try {
      button.disabled = true;
      const page = await queryClient.fetchQuery(trpc.feature.get.queryOptions(address, { staleTime: Infinity }));
      const example = findExample(page, item.dataset.key ?? '');
      if (!example) throw new Error('this example is no longer in the feature’s dashboard: reload the page');
      windows.set(tokens, { html: tokens.innerHTML, label: tokens.getAttribute('aria-label') ?? '', cut: tokens.dataset.cut });
      show(tokens, exampleTokens(example, page.pieces, scale));
      setExpanded(button, true);
    } catch (err) {
      const alert = document.createElement('span');
      alert.className = 'error small';
      alert.role = 'alert';
      alert.textContent = err instanceof Error ? err.message : String(err);
      item.append(alert);
    } finally {
      button.disabled = false;
    }
  };

  return <ol ref={list} className={styles.examples} {...events} onClick={onClick} dangerouslySetInnerHTML={{ __html: html }} />;
}

function show(tokens: HTMLElement, { html, label, cut }: { html: string; label: string; cut?: string }) {
  tokens.innerHTML = html;
  tokens.setAttribute('aria-label', label);
  if (cut) tokens.dataset.cut = cut;
  else delete tokens.dataset.cut;
}

function setExpanded(button: HTMLButtonElement, expanded: boolean) {
  button.textContent = expanded ? 'collapse' : 'expand';
  button.setAttribute('aria-expanded', String(expanded));
}

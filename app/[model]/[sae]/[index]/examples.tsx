'use client';
/**
 * An example list in the browser: the lines the server wrote as HTML (./example-lines), the keys and hover of token
 * lines, and an expand button on each line that leaves tokens out, which fetches the whole contexts (feature.get,
 * once for every line of the page) and shows its line's, written by the same code. The lines reach the page once, as
 * server-rendered HTML delivered by key (app/_components/server-html; React never diffs inside the list). A list that
 * mounts without lines (a client navigation to the page, an opened section whose lines were left out) fetches its
 * group's from ./lines, one request for the group.
 */
import { useQueryClient } from '@tanstack/react-query';
import { createContext, useContext, useEffect, useMemo, useState, type MouseEvent, type ReactNode } from 'react';
import tokenStyles from '../../../_components/tokens.module.css';
import type { FeatureAddress } from '@/server/addresses';
import { useServerHtml } from '../../../_components/server-html';
import { tokenLineEvents } from '../../../_components/tokens';
import { useTRPC } from '../../../trpc';
import { exampleTokens, exampleTokenTip, selectExamples } from './example-lines';
import styles from './feature.module.css';

/**
 * What the lists around share: the feature (expand reads its whole contexts), the value of full colour, where their
 * lines are fetched, and whether they are shown (a closed section fetches nothing).
 */
interface GroupProps {
  address: FeatureAddress;
  scale: number;
  source: string;
}
const Group = createContext<GroupProps & { shown: boolean }>({ address: { model: '', sae: '', index: 0 }, scale: 0, source: '', shown: false });

/**
 * Example lists shown together; `source` (evidence linesUrl) is where their lines are fetched. Give it `key={source}`:
 * another feature's (or run's) lines are other lists, mounted afresh to show or fetch them.
 */
export function ExampleGroup({ children, ...group }: GroupProps & { children: ReactNode }) {
  return <Group value={{ ...group, shown: true }}>{children}</Group>;
}

/** An ExampleGroup in a section closed unless `open`, whose lines are fetched when it is first opened. */
export function ExamplesDisclosure({ open, summary, children, testId, ...group }: GroupProps & { open: boolean; summary: ReactNode; children: ReactNode; testId: string }) {
  const [shown, setShown] = useState(open);
  return (
    <details className={styles.disclosure} open={open} data-testid={testId} onToggle={(e) => setShown(e.currentTarget.open)}>
      <summary>{summary}</summary>
      <Group value={{ ...group, shown }}>{children}</Group>
    </details>
  );
}

/** The windowed tokens of the lines now expanded and their name, to put back on collapse. */
const windows = new WeakMap<HTMLElement, { html: string; label: string; cut?: string }>();

/** `list`: its name in its group; `htmlKey`: where the server keeps its lines (none: a deferred list). */
export function ExampleLines(props: { list: string; htmlKey?: string }) {
  const { address, scale, source, shown } = useContext(Group);
  // the client renders no lines of its own until it has fetched them (./lines answers { list: html }): hydration keeps what the server wrote
  const { ref: list, html, pending, error } = useServerHtml<HTMLOListElement>(props.htmlKey, { source, name: props.list, shown });
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const events = useMemo(() => tokenLineEvents(exampleTokenTip), []);
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
      // the list's lines are its examples in order
      const example = selectExamples(page, props.list)?.[[...list.current!.children].indexOf(item)];
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

  return (
    <>
      <ol ref={list} className={styles.examples} {...events} onClick={onClick} dangerouslySetInnerHTML={{ __html: html }} suppressHydrationWarning />
      {pending && shown && <p className="muted small">Loading the examples…</p>}
      {error && (
        <p className="error small" role="alert">
          {error.message}
        </p>
      )}
    </>
  );
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

'use client';
/**
 * Markdown rendered (and sanitised) on the server, shown as HTML, with the hover preview of its feature chips: pointing
 * at a chip or focusing it with the keyboard fetches the feature's label, density and top activation
 * (featureLink.preview, cached by TanStack Query) into a small card beside it.
 */
import 'katex/dist/katex.min.css';
import { useQuery } from '@tanstack/react-query';
import { useId, useRef, useState, type FocusEvent, type MouseEvent } from 'react';
import { formatFeatureAddress } from '@/server/addresses';
import { displayPiece } from '@/server/token-piece';
import { useTRPC } from '../trpc';
import { formatFraction, formatValue } from './token-format';
import styles from './markdown-view.module.css';
import { ErrorLine } from './error-line';

interface Active {
  address: { model: string; sae: string; index: number };
  left: number;
  top: number;
}

function chipOf(target: EventTarget | null): HTMLAnchorElement | null {
  return target instanceof Element ? target.closest<HTMLAnchorElement>('a.feature-chip[data-feature]') : null;
}

export function MarkdownView({ html, className, testId }: { html: string; className?: string; testId?: string }) {
  const box = useRef<HTMLDivElement>(null);
  const [active, setActive] = useState<Active | null>(null);
  const tooltipId = useId();

  const show = (chip: HTMLAnchorElement) => {
    const [model, sae, index] = chip.dataset.feature!.split('/');
    const outer = box.current!.getBoundingClientRect();
    const r = chip.getBoundingClientRect();
    chip.setAttribute('aria-describedby', tooltipId);
    setActive({ address: { model: model!, sae: sae!, index: Number(index) }, left: r.left - outer.left, top: r.bottom - outer.top + 4 });
  };
  const hide = (chip: HTMLAnchorElement, next: EventTarget | null) => {
    if (next instanceof Node && chip.contains(next)) return;
    chip.removeAttribute('aria-describedby');
    setActive(null);
  };

  return (
    <div
      ref={box}
      className={styles.view}
      onMouseOver={(e: MouseEvent) => {
        const chip = chipOf(e.target);
        if (chip && chip.dataset.feature !== key(active)) show(chip);
      }}
      onMouseOut={(e: MouseEvent) => {
        const chip = chipOf(e.target);
        if (chip) hide(chip, e.relatedTarget);
      }}
      onFocus={(e: FocusEvent) => {
        const chip = chipOf(e.target);
        if (chip) show(chip);
      }}
      onBlur={(e: FocusEvent) => {
        const chip = chipOf(e.target);
        if (chip) hide(chip, e.relatedTarget);
      }}
    >
      {/* Rendered from markdown and sanitised on the server when the text was written (server/markdown.ts), chips put in for this reader. */}
      <div className={`markdown ${className ?? ''}`} data-testid={testId} dangerouslySetInnerHTML={{ __html: html }} />
      {active && <Preview id={tooltipId} active={active} />}
    </div>
  );
}

const key = (a: Active | null) => a && formatFeatureAddress(a.address);

function densityText(p: { density: number | null; nonzeroCount: number | null; nTokens: number | null }): string {
  if (p.density === null) return 'no dashboards yet';
  if (p.nonzeroCount === 0) return `dead over ${p.nTokens?.toLocaleString('en')} tokens`;
  return `density ${formatFraction(p.density)}`;
}

function Preview({ id, active }: { id: string; active: Active }) {
  const trpc = useTRPC();
  const preview = useQuery(trpc.featureLink.preview.queryOptions(active.address, { staleTime: 60_000, retry: false }));
  const p = preview.data;
  return (
    <div id={id} role="tooltip" className={styles.card} style={{ left: active.left, top: active.top }} data-testid="feature-preview">
      <div className="mono muted">{key(active)}</div>
      {preview.isPending ? (
        <div className="muted">loading…</div>
      ) : preview.error ? (
        <ErrorLine error={preview.error} />
      ) : (
        <>
          <div className={styles.label}>{p!.label || <span className="muted">unlabelled</span>}</div>
          <div className="muted">
            {densityText(p!)}
            {p!.maxAct !== null && <> · max {formatValue(p!.maxAct)}</>}
          </div>
          {p!.snippet && (
            <div className={styles.snippet} data-testid="feature-preview-snippet">
              {p!.snippet.pieces.map((piece, i) => (
                <span key={i} className={i === p!.snippet!.peak ? styles.peak : undefined} title={i === p!.snippet!.peak ? formatValue(p!.snippet!.act) : undefined}>
                  {displayPiece(piece, true)}
                </span>
              ))}
            </div>
          )}
        </>
      )}
    </div>
  );
}

'use client';
/** Copies the feature's stable URL; without scripts the link itself is there to copy. */
import { useState } from 'react';

export function CopyLink({ path }: { path: string }) {
  const [copied, setCopied] = useState<'idle' | 'copied' | 'failed'>('idle');
  const copy = async () => {
    const url = new URL(path, window.location.origin).toString();
    try {
      await navigator.clipboard.writeText(url);
      setCopied('copied');
    } catch {
      // no clipboard permission (e.g. plain http): select a field holding the URL instead
      window.prompt('Copy this link', url);
      setCopied('failed');
    }
    setTimeout(() => setCopied('idle'), 2000);
  };
  return (
    <>
      <a href={path} className="mono" data-testid="permalink" aria-label="Permanent link to this feature">
        link
      </a>
      <button type="button" className="secondary small" onClick={copy} data-testid="copy-link" aria-live="polite">
        {copied === 'copied' ? 'Copied' : 'Copy link'}
      </button>
    </>
  );
}

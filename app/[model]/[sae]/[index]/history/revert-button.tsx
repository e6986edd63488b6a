'use client';
/** Revert to a revision (editors): a new revision with its text, refused when someone saved since the page loaded. */
import { useMutation } from '@tanstack/react-query';
import { useRouter } from 'next/navigation';
import { useTRPC } from '../../../../trpc';
import { ErrorLine } from '../../../../_components/error-line';

export function RevertButton(props: { address: { model: string; sae: string; index: number }; revision: number; baseRevision: number }) {
  const trpc = useTRPC();
  const router = useRouter();
  const revert = useMutation(trpc.wiki.revert.mutationOptions({ onSuccess: () => router.refresh() }));
  return (
    <span>
      <button
        type="button"
        className="secondary small-button"
        disabled={revert.isPending}
        onClick={() => revert.mutate({ ...props.address, revision: props.revision, baseRevision: props.baseRevision })}
        data-testid={`revert-${props.revision}`}
      >
        {revert.isPending ? 'Reverting…' : `Revert to ${props.revision}`}
      </button>
      <ErrorLine error={revert.error} inline small />
    </span>
  );
}

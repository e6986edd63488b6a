'use client';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import Link from 'next/link';
import { useRouter } from 'next/navigation';
import { useState } from 'react';
import type { ProposalProvenance } from '@/drizzle/schema';
import type { LabelStanding } from '@/server/label-votes';
import { featureHistoryHref, userHref } from '@/server/addresses';
import { useTRPC } from '../trpc';
import styles from './wiki.module.css';
import { ErrorLine } from './error-line';

interface Props {
  address: { model: string; sae: string; index: number };
  canEdit: boolean;
  signedIn: boolean;
  /** the viewer's account, whose proposals they may withdraw */
  viewerId: string | null;
  initial: LabelStanding;
}

/**
 * The feature page's label proposals: who set the shown label, the alternatives with their authors and votes, a vote
 * per signed-in user (again to move it, or withdraw), and a proposal box for editors. Server-rendered with the
 * standing the page's read carries (feature.get); refreshed after each change.
 */
export function ProposalsPanel({ address, canEdit, signedIn, viewerId, initial }: Props) {
  const trpc = useTRPC();
  const router = useRouter();
  const queryClient = useQueryClient();
  const { data } = useQuery(trpc.wiki.proposals.queryOptions(address, { initialData: initial, staleTime: 30_000 }));
  const standing = data ?? initial;
  const [label, setLabel] = useState('');
  const changed = async () => {
    await queryClient.invalidateQueries(trpc.wiki.proposals.queryFilter(address));
    router.refresh(); // the heading shows the label a vote may have changed
  };
  const vote = useMutation(trpc.wiki.vote.mutationOptions({ onSuccess: changed }));
  const unvote = useMutation(trpc.wiki.unvote.mutationOptions({ onSuccess: changed }));
  const withdraw = useMutation(trpc.wiki.withdraw.mutationOptions({ onSuccess: changed }));
  const propose = useMutation(
    trpc.wiki.propose.mutationOptions({
      onSuccess: async () => {
        setLabel('');
        await changed();
      },
    }),
  );
  const error = vote.error ?? unvote.error ?? withdraw.error ?? propose.error;
  const busy = vote.isPending || unvote.isPending || withdraw.isPending;
  const by = standing.labelBy;

  return (
    <details className={styles.proposals} open={standing.proposals.length > 1} data-testid="label-proposals">
      <summary>
        {standing.label ? (
          <>
            Label{' '}
            {by && (
              <span data-testid="label-author">
                {by.how === 'withdrawal' ? (
                  // the one who withdrew did not choose the new label: say what happened instead
                  <>
                    changed because <Link href={userHref(by.id)}>{by.name}</Link> withdrew {by.withdrew}
                  </>
                ) : (
                  <>
                    set by <Link href={userHref(by.id)}>{by.name}</Link> {by.how === 'vote' ? 'through a vote' : 'in an edit'}
                  </>
                )}
              </span>
            )}
          </>
        ) : (
          'No label yet'
        )}{' '}
        · {standing.proposals.length} proposal{standing.proposals.length === 1 ? '' : 's'} · <Link href={featureHistoryHref(address)}>History</Link>
      </summary>
      {standing.proposals.length > 0 && (
        <ol>
          {standing.proposals.map((p) => (
            <li key={p.id} data-testid="proposal" data-votes={p.votes}>
              <span className={styles.votes}>
                {p.votes} vote{p.votes === 1 ? '' : 's'}
              </span>{' '}
              <span className={p.shown ? styles.shown : undefined}>{p.label}</span>
              {p.shown && <span className="tag">shown</span>}{' '}
              <span className="muted small">
                by{' '}
                {p.author ? (
                  <Link href={userHref(p.author.id)}>{p.author.name}</Link>
                ) : p.provenance ? (
                  <span data-testid="proposal-source">{p.provenance.by}</span>
                ) : (
                  'a deleted user'
                )}
              </span>{' '}
              {p.provenance && <ProvenanceDetails provenance={p.provenance} />}
              {p.author?.id === viewerId && (
                <button
                  type="button"
                  className="link small"
                  disabled={busy}
                  onClick={() => withdraw.mutate({ ...address, proposalId: p.id })}
                  aria-label={`Withdraw your proposal “${p.label}”`}
                >
                  withdraw proposal
                </button>
              )}{' '}
              {signedIn &&
                (p.mine ? (
                  <button type="button" className="link small" disabled={busy} onClick={() => unvote.mutate(address)}>
                    ✓ your vote (withdraw)
                  </button>
                ) : (
                  <button
                    type="button"
                    className="secondary small-button"
                    disabled={busy}
                    onClick={() => vote.mutate({ ...address, proposalId: p.id })}
                    aria-label={`Vote for “${p.label}”`}
                  >
                    Vote
                  </button>
                ))}
            </li>
          ))}
        </ol>
      )}
      {canEdit && (
        <form
          className={styles.propose}
          onSubmit={(e) => {
            e.preventDefault();
            propose.mutate({ ...address, label });
          }}
        >
          <input value={label} onChange={(e) => setLabel(e.target.value)} maxLength={200} aria-label="Propose a label" placeholder="propose another label" />
          <button type="submit" className="secondary small-button" disabled={propose.isPending || !label.trim()}>
            Propose
          </button>
        </form>
      )}
      {!signedIn && (
        <p className="muted small">
          <Link href="/signin">Sign in</Link> to vote.
        </p>
      )}
      <ErrorLine error={error} small />
    </details>
  );
}

/** `detection 0.82, n=40` from a proposal's scores, when it has a detection score. */
function detectionText(scores: ProposalProvenance['scores']): string | null {
  const d = scores?.detection as { balancedAccuracy?: unknown; n?: unknown } | undefined;
  return typeof d?.balancedAccuracy === 'number' && typeof d.n === 'number' ? `detection ${d.balancedAccuracy.toFixed(2)}, n=${d.n}` : null;
}

/** A machine's proposal: its score, and the prompt and answer it came from for a reader to judge. */
function ProvenanceDetails({ provenance }: { provenance: ProposalProvenance }) {
  const score = detectionText(provenance.scores);
  return (
    <>
      {score && (
        <span className="tag" data-testid="proposal-score" title="balanced accuracy of telling held-out examples from contexts where the feature does not fire, by this label">
          {score}
        </span>
      )}
      {(provenance.prompt || provenance.answer) && (
        <details className={styles.provenance} data-testid="proposal-provenance">
          <summary className="small">prompt and answer</summary>
          {provenance.prompt && <pre>{provenance.prompt}</pre>}
          {provenance.answer !== undefined && (
            <p className="small">
              Answer: <code>{provenance.answer}</code>
            </p>
          )}
        </details>
      )}
    </>
  );
}

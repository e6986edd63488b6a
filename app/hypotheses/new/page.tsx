import type { Metadata } from 'next';
import Link from 'next/link';
import { api } from '@/server/api/server-caller';
import { HypothesisForm } from '../hypothesis-form';

export const metadata: Metadata = { title: 'New hypothesis · Lexicon' };

/** /hypotheses/new?feature=model/sae/index: propose a hypothesis (about that feature, to start with). */
export default async function NewHypothesisPage(props: { searchParams: Promise<Record<string, string | string[] | undefined>> }) {
  const search = await props.searchParams;
  const feature = typeof search.feature === 'string' ? search.feature : '';
  const me = await (await api()).auth.me();
  return (
    <>
      <nav className="crumbs" aria-label="Breadcrumb">
        <Link href="/hypotheses">Hypotheses</Link> / <span>new</span>
      </nav>
      <h1>Propose a hypothesis</h1>
      {me ? (
        <HypothesisForm initial={{ statement: '', body: '', features: feature ? [feature] : [] }} />
      ) : (
        <p className="muted">
          <Link href="/signin">Sign in</Link> as an editor to propose hypotheses.
        </p>
      )}
    </>
  );
}

import Link from 'next/link';
import { adminCaller } from '../admin-caller';
import { ExplainerForm } from './explainer-form';

export const metadata = { title: 'Explainer · Lexicon' };

/** Admins: the OpenAI-compatible endpoint that writes automatic explanations (its key is shown only as set or not). */
export default async function ExplainerPage() {
  const status = await (await adminCaller()).admin.explainer();
  return (
    <>
      <h1>Automatic explanations: the endpoint</h1>
      <p>
        <Link href="/admin/users">Accounts</Link> · <Link href="/admin/audit">Audit log</Link>
      </p>
      <p className="muted">
        An OpenAI-compatible chat completions server: a local vLLM or llama.cpp server, or a hosted one. Jobs send it each feature&apos;s top
        examples and store its label as a proposal by “auto (model)”, scored by detection. Settings saved here take precedence over the
        environment&apos;s LEXICON_EXPLAINER_URL, LEXICON_EXPLAINER_MODEL and LEXICON_EXPLAINER_KEY.
      </p>
      <ExplainerForm initial={status} />
    </>
  );
}

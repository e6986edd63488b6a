import { TRPCError } from '@trpc/server';
import { notFound } from 'next/navigation';
import { api } from '@/server/api/server-caller';
import { RunPanel } from '../_components/run-panel';

export default async function ModelPage({ params }: { params: Promise<{ model: string }> }) {
  const { model: slug } = await params;
  const caller = await api();
  const model = await caller.model.bySlug({ slug }).catch((err) => {
    if (err instanceof TRPCError && err.code === 'NOT_FOUND') notFound();
    throw err;
  });
  const [recent, me] = await Promise.all([caller.job.recent({ model: slug }), caller.auth.me()]);
  const c = model.config as {
    nLayers: number; dModel: number; nHeads: number; nKvHeads: number; dMlp: number; vocabSize: number; contextLength: number;
  };
  return (
    <>
      <h1>{model.slug}</h1>
      <p className="muted mono">
        {model.architecture} · {c.nLayers} layers · d_model {c.dModel} · {c.nHeads} heads ({c.nKvHeads} kv) · d_mlp {c.dMlp} ·
        vocab {c.vocabSize} · context {c.contextLength} · sha256 {model.contentHash.slice(0, 12)}
      </p>
      <RunPanel model={model.slug} contextLength={c.contextLength} initialRecent={recent} signedIn={!!me} />
    </>
  );
}

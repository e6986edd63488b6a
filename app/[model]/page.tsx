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
  const [recent, me, saes] = await Promise.all([caller.job.recent({ model: slug }), caller.auth.me(), caller.sae.byModel({ model: slug })]);
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
      <h2>SAEs</h2>
      {saes.length === 0 ? (
        <p className="muted">
          No SAEs yet. Register one with <code>npx lexicon sae add DIR --model {model.slug}</code>.
        </p>
      ) : (
        <table data-testid="saes">
          <thead>
            <tr>
              <th>SAE</th>
              <th>hook</th>
              <th>architecture</th>
              <th>d_sae</th>
              <th>import check</th>
            </tr>
          </thead>
          <tbody>
            {saes.map((sae) => {
              const check = sae.importCheck as { asGiven: { varianceExplained: number; l0: number }; warnings: string[] } | null;
              return (
                <tr key={sae.id}>
                  <td className="mono">{sae.slug}</td>
                  <td className="mono">{sae.hookName}</td>
                  <td>{sae.architecture}</td>
                  <td>{sae.dSae}</td>
                  <td>
                    {check && (
                      <>
                        variance explained {check.asGiven.varianceExplained.toFixed(3)}, L0 {check.asGiven.l0.toFixed(1)}
                        {check.warnings.map((w) => (
                          <div key={w} className="error">
                            ⚠ {w}
                          </div>
                        ))}
                      </>
                    )}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
      <RunPanel model={model.slug} contextLength={c.contextLength} initialRecent={recent} signedIn={!!me} />
    </>
  );
}

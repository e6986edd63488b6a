import { TRPCError } from '@trpc/server';
import { notFound } from 'next/navigation';
import { api } from '@/server/api/server-caller';
import { AccessPanel } from '../_components/access-panel';
import { RunPanel } from '../_components/run-panel';
import { SaeProgressTable } from '../_components/sae-progress';
import { TopFeaturesPanel } from '../_components/top-features-panel';

export default async function ModelPage({ params }: { params: Promise<{ model: string }> }) {
  const { model: slug } = await params;
  const caller = await api();
  const model = await caller.model.bySlug({ slug }).catch((err) => {
    if (err instanceof TRPCError && err.code === 'NOT_FOUND') notFound();
    throw err;
  });
  const [recent, me, saes, summaries] = await Promise.all([
    caller.job.recent({ model: slug }),
    caller.auth.me(),
    caller.sae.byModel({ model: slug }),
    caller.sae.summaries({ model: slug }),
  ]);
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
      <AccessPanel model={model.slug} />
      <h2>SAEs by hook</h2>
      {saes.length === 0 ? (
        <p className="muted">
          No SAEs yet. Register one with <code>npx lexicon sae add DIR --model {model.slug}</code>.
        </p>
      ) : (
        <>
          <SaeProgressTable saes={summaries} />
          {saes.some((sae) => (sae.importCheck as { warnings?: string[] } | null)?.warnings?.length) && (
            <div className="panel" data-testid="import-warnings">
              <strong>Import check warnings</strong>
              {saes.map((sae) =>
                ((sae.importCheck as { warnings?: string[] } | null)?.warnings ?? []).map((w) => (
                  <div key={`${sae.slug}:${w}`} className="error">
                    ⚠ <span className="mono">{sae.slug}</span>: {w}
                  </div>
                )),
              )}
            </div>
          )}
          <details>
            <summary className="muted">Import checks (reconstruction on a few sampled tokens, with the cfg as given)</summary>
            <table data-testid="saes">
              <thead>
                <tr>
                  <th>SAE</th>
                  <th>hook</th>
                  <th>import check</th>
                </tr>
              </thead>
              <tbody>
                {saes.map((sae) => {
                  const check = sae.importCheck as { asGiven: { varianceExplained: number; l0: number } } | null;
                  return (
                    <tr key={sae.id}>
                      <td className="mono">{sae.slug}</td>
                      <td className="mono">{sae.hookName}</td>
                      <td>{check && <>variance explained {check.asGiven.varianceExplained.toFixed(3)}, L0 {check.asGiven.l0.toFixed(1)}</>}</td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          </details>
        </>
      )}
      {saes.length > 0 && <TopFeaturesPanel model={model.slug} canCompute={!!me} />}
      <RunPanel model={model.slug} contextLength={c.contextLength} initialRecent={recent} signedIn={!!me} />
    </>
  );
}

import Link from 'next/link';
import { api } from '@/server/api/server-caller';
import { currentSession } from '@/server/auth';
import { modelHref, saeHref } from '@/server/addresses';
import { DemoProgress } from './_components/demo-progress';
import { RecentActivity } from './_components/home-activity';
import { RunningJobs } from './_components/running-jobs';
import { SaeProgressTable } from './_components/sae-progress';

export default async function HomePage() {
  const caller = await api();
  const [models, saes, demo, session, summaries, edits, activeJobs] = await Promise.all([
    caller.model.list(),
    caller.model.saes(),
    caller.job.latest({ type: 'demo' }),
    currentSession(),
    caller.sae.summaries(),
    caller.activity.recent(),
    caller.activity.jobs(),
  ]);
  const now = Date.now();
  return (
    <>
      <DemoProgress initial={demo} canCancel={session?.user?.role === 'admin'} />
      <h1>Models</h1>
      {models.length === 0 ? (
        <p className="muted">
          No models registered. Put a model directory under LEXICON_MODELS_DIR, or run <code>npx lexicon model add DIR</code>.
        </p>
      ) : (
        <div className="table-scroll">
          <table>
            <thead>
              <tr>
                <th>Model</th>
                <th>Architecture</th>
                <th>Layers</th>
                <th>d_model</th>
                <th>Vocabulary</th>
                <th>Context</th>
                <th>SAEs</th>
              </tr>
            </thead>
            <tbody>
              {models.map((m) => {
                const c = m.config as { nLayers: number; dModel: number; vocabSize: number; contextLength: number };
                return (
                  <tr key={m.id}>
                    <td>
                      <Link href={modelHref(m.slug)}>{m.slug}</Link>
                    </td>
                    <td>{m.architecture}</td>
                    <td>{c.nLayers}</td>
                    <td>{c.dModel}</td>
                    <td>{c.vocabSize}</td>
                    <td>{c.contextLength}</td>
                    <td>
                      {saes
                        .filter((sae) => sae.model === m.slug)
                        .map((sae) => (
                          <span key={sae.slug} style={{ marginRight: 12 }} title={`${sae.hookName}, ${sae.architecture}, ${sae.dSae} features`}>
                            <Link href={saeHref({ model: m.slug, sae: sae.slug })}>{sae.slug}</Link>
                            {!sae.hasDashboards && <span className="muted"> (no dashboards yet)</span>}
                          </span>
                        ))}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
      {summaries.length > 0 && (
        <section>
          <h2>SAEs and labelling progress</h2>
          <SaeProgressTable saes={summaries} showModel />
        </section>
      )}
      <div className="grid-2">
        <RecentActivity edits={edits} now={now} />
        <RunningJobs jobs={activeJobs} now={now} />
      </div>
    </>
  );
}

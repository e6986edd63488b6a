import Link from 'next/link';
import type { Metadata } from 'next';
import { api } from '@/server/api/server-caller';
import { DEFAULT_ULTRA_RARE_DENSITY, type StoredEvals } from '@/server/saes';
import { modelHref, saeHref } from '@/server/addresses';
import { canMakeLists } from '@/server/lists';
import { AccessPanel } from '../../_components/access-panel';
import { CommentThread } from '../../_components/comment-thread';
import { FeatureTable, TABLE_DEFAULTS } from '../../_components/feature-table';
import { ProgressBar } from '../../_components/progress-bar';
import { saeHooks } from '../../_components/sae-hooks';
import { WatchButton } from '../../_components/watch-button';
import { ByPositionChart, DensityHistogram, SaeScatter } from '../../_components/sae-charts';
import { formatTokens, orNotFound, percent } from '../../_lib/not-found';
import { utc } from '../../_lib/time';
import { DashboardRuns } from '../../_components/dashboard-runs';
import { describeRunSource } from '../../_components/run-source';
import { ImportPanel } from '../../_components/import-panel';
import { TopFeaturesPanel } from '../../_components/top-features-panel';
import { ExplainPanel } from '../../_components/explain-panel';
import { RunningDashboards } from '../../_components/running-dashboards';

type Params = { model: string; sae: string };

export async function generateMetadata({ params }: { params: Promise<Params> }): Promise<Metadata> {
  const { model, sae } = await params;
  return { title: `${model}/${sae} · Lexicon` };
}

/** The context length the SAE was trained on, from its SAELens cfg (top level or metadata). */
function trainedContext(cfg: unknown): number | null {
  const c = cfg as { context_size?: number; metadata?: { context_size?: number } } | null;
  const n = c?.metadata?.context_size ?? c?.context_size;
  return typeof n === 'number' ? n : null;
}

const fmt = (x: number | null | undefined, digits = 3) => (x === null || x === undefined ? '—' : x.toFixed(digits));

function EvalsTable({ evals }: { evals: StoredEvals }) {
  const tokens = `${evals.nTokens.toLocaleString('en')} tokens`;
  const predictions = `${evals.nPredictions.toLocaleString('en')} next-token predictions`;
  const rows: [string, string, string][] = [
    ['L0 (features firing per token)', fmt(evals.l0, 2), tokens],
    ['MSE (per element)', evals.mse.toExponential(3), tokens],
    ['variance explained (centred)', fmt(evals.varianceExplained), tokens],
    ['CE loss, clean', fmt(evals.ceClean), predictions],
    ['CE loss, SAE spliced in', fmt(evals.ceSpliced), predictions],
    // SAELens's ce_loss_score is against zero ablation; runs computed before it was measured have only the mean one
    ...(evals.ceZeroAblated === undefined
      ? []
      : ([
          ['CE loss, hook zero-ablated', fmt(evals.ceZeroAblated), predictions],
          ['CE loss recovered, zero ablation (SAELens ce_loss_score)', fmt(evals.ceRecoveredZero), predictions],
        ] as [string, string, string][])),
    [`CE loss, hook ${evals.ablation}-ablated`, fmt(evals.ceAblated), `${predictions}; the mean over ${evals.meanOver ?? 'all corpus tokens'}`],
    [`CE loss recovered, ${evals.ablation} ablation`, fmt(evals.ceRecovered), predictions],
    ['dead features', `${percent(evals.deadFraction * evals.nFeatures, evals.nFeatures)} (${Math.round(evals.deadFraction * evals.nFeatures)})`, `no firing in ${tokens}`],
    [
      'ultra-rare features',
      `${percent(evals.ultraRareFraction * evals.nFeatures, evals.nFeatures)} (${Math.round(evals.ultraRareFraction * evals.nFeatures)})`,
      evals.nTokens * evals.ultraRareDensity < 1
        ? `density below ${evals.ultraRareDensity.toExponential(0)}: not measurable over ${tokens} (one firing is ${(1 / evals.nTokens).toExponential(1)}); compute dashboards over more tokens`
        : `density below ${evals.ultraRareDensity.toExponential(0)}, over ${tokens}`,
    ],
  ];
  return (
    <div className="table-scroll" data-testid="evals">
    <table className="evals">
      <thead>
        <tr>
          <th>metric</th>
          <th className="num">value</th>
          <th>measured over</th>
        </tr>
      </thead>
      <tbody>
        {rows.map(([name, value, over]) => (
          <tr key={name}>
            <td>{name}</td>
            <td className="num mono">{value}</td>
            <td className="muted">{over}</td>
          </tr>
        ))}
      </tbody>
    </table>
    </div>
  );
}

export default async function SaeOverviewPage({ params }: { params: Promise<Params> }) {
  const { model, sae } = await params;
  const caller = await api();
  const [overview, table, me] = await Promise.all([
    orNotFound(caller.sae.overview({ model, sae })),
    orNotFound(caller.sae.features({ model, sae, sort: 'density', dir: 'desc', limit: 15 })),
    caller.auth.me(),
  ]);
  const { run, points } = overview;
  const evals = run?.evals ?? null;
  const base = saeHref({ model, sae });
  const context = trainedContext(overview.sae.cfg);
  return (
    <>
      <nav className="crumbs" aria-label="Breadcrumb">
        <Link href={modelHref(model)}>{model}</Link> / <span>{sae}</span>
      </nav>
      <div className="row spread">
        <h1>
          {model}/{sae}
        </h1>
        <WatchButton kind="sae" targetId={overview.sae.id} />
      </div>
      <p className="muted mono">
        {saeHooks(overview.sae.hookName, overview.sae.cfg)} · {overview.sae.architecture} · d_in {overview.sae.dIn} · d_sae {overview.sae.dSae.toLocaleString('en')}
        {context !== null && <> · trained on {context}-token contexts</>} · sha256 {overview.sae.contentHash.slice(0, 12)}
      </p>
      <AccessPanel model={model} sae={sae} />
      <div className="row spread">
        <ProgressBar done={overview.labelled} total={overview.sae.dSae} />
        <span className="row">
          <Link className="button" href={`${base}/label`}>
            Label features
          </Link>
          {/* a full page load: the table's rows travel only in a page's HTML (_components/server-html) */}
          <a className="button secondary" href={`${base}/features`}>
            All features
          </a>
          <Link className="button secondary" href={`/search?model=${encodeURIComponent(model)}&sae=${encodeURIComponent(sae)}`}>
            Search this SAE
          </Link>
        </span>
      </div>

      <RunningDashboards model={model} sae={sae} />
      {overview.can.manage && <ImportPanel model={model} sae={sae} />}
      {!run ? (
        <p className="panel" data-testid="no-dashboards">
          No dashboards have been computed for this SAE yet: its evals, densities and feature pages appear once a dashboards job has run.
        </p>
      ) : (
        <>
          {run.source ? (
            <p className="muted" data-testid="run-source">
              Dashboards {describeRunSource(run.source)}
              {run.completedAt && <> · imported {utc(run.completedAt)}</>}
            </p>
          ) : (
            <p className="muted">
              Dashboards over <strong>{formatTokens(run.nTokens)}</strong> tokens of corpus “{run.corpusName}”
              {run.completedAt && <> · computed {utc(run.completedAt)}</>}
            </p>
          )}
          <DashboardRuns model={model} sae={sae} runs={overview.runs} canManage={overview.can.manage} />
          <div className="grid-2">
            <section>
              <h2>Evals</h2>
              {evals ? <EvalsTable evals={evals} /> : <p className="muted">This run stored no evals.</p>}
            </section>
            <section>
              <h2>By token position</h2>
              {evals && evals.byPosition.length > 0 ? (
                <ByPositionChart evals={evals} trainedContext={context} />
              ) : (
                <p className="muted">No by-position metrics.</p>
              )}
            </section>
          </div>
          {evals && (
            <section>
              <h2>Feature density</h2>
              <DensityHistogram histogram={evals.densityHistogram} nTokens={evals.nTokens} />
            </section>
          )}
          {points && (
            <section>
              <h2>Density, encoder bias and D/E projection</h2>
              <SaeScatter points={points} model={model} sae={sae} canList={canMakeLists(me)} />
            </section>
          )}
          <section>
            <h2>Most frequent features</h2>
            <FeatureTable
              model={model}
              sae={sae}
              base={`${base}/features`}
              params={TABLE_DEFAULTS}
              page={table}
              ultraRareDensity={evals?.ultraRareDensity ?? DEFAULT_ULTRA_RARE_DENSITY}
              filters={false}
            />
            <p>
              <a href={`${base}/features`}>Sort, filter and page through all {overview.sae.dSae.toLocaleString('en')} features →</a>
            </p>
          </section>
        </>
      )}
      <TopFeaturesPanel model={model} sae={sae} canCompute={overview.can.compute} />
      <ExplainPanel model={model} sae={sae} />
      <CommentThread target={{ kind: 'sae', saeId: overview.sae.id }} />
    </>
  );
}

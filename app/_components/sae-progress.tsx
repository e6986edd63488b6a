/** SAEs grouped by hook, with labelling progress (labelled / total), headline evals and links: home and model pages. */
import Link from 'next/link';
import type { SaeSummary } from '@/server/saes';
import { modelHref, saeHref } from '@/server/addresses';
import { formatTokens } from '../_lib/not-found';
import { ProgressBar } from './progress-bar';
import { formatFraction } from './token-format';

export function SaeProgressTable({ saes, showModel = false }: { saes: SaeSummary[]; showModel?: boolean }) {
  const byHook = new Map<string, SaeSummary[]>();
  for (const s of saes) {
    const key = showModel ? `${s.modelSlug}\u0000${s.hookName}` : s.hookName;
    byHook.set(key, [...(byHook.get(key) ?? []), s]);
  }
  return (
    <div className="table-scroll">
      <table data-testid="sae-progress">
        <thead>
          <tr>
            <th>SAE</th>
            <th>labelling</th>
            <th className="num">d_sae</th>
            <th className="num">L0</th>
            <th className="num">var. expl.</th>
            <th className="num" title="CE loss recovered against mean ablation (the hook replaced by its mean over all corpus tokens); the SAE page also shows it against zero ablation (SAELens ce_loss_score)">CE rec. (mean abl.)</th>
            <th className="num">dead</th>
            <th className="num">tokens</th>
          </tr>
        </thead>
        {[...byHook.entries()].map(([key, group]) => (
          <tbody key={key}>
            <tr className="group">
              <th colSpan={8} scope="colgroup">
                {showModel && (
                  <>
                    <Link href={modelHref(group[0]!.modelSlug)}>{group[0]!.modelSlug}</Link> ·{' '}
                  </>
                )}
                <span className="mono">{group[0]!.hookName}</span>
              </th>
            </tr>
            {group.map((s) => (
              <tr key={s.id}>
                <td className="mono nowrap">
                  <Link href={saeHref({ model: s.modelSlug, sae: s.slug })}>{s.slug}</Link>
                  <span className="muted"> · {s.architecture}</span>
                </td>
                <td>
                  {s.computed > 0 ? (
                    <>
                      <ProgressBar done={s.labelled} total={s.dSae} />{' '}
                      <Link href={`${saeHref({ model: s.modelSlug, sae: s.slug })}/label`} className="small">
                        label
                      </Link>
                    </>
                  ) : (
                    <span className="muted">no dashboards yet</span>
                  )}
                </td>
                <td className="num">{s.dSae.toLocaleString('en')}</td>
                <td className="num mono">{s.l0 === null ? '—' : s.l0.toFixed(1)}</td>
                <td className="num mono">{s.varianceExplained === null ? '—' : s.varianceExplained.toFixed(3)}</td>
                <td className="num mono">{s.ceRecovered === null ? '—' : s.ceRecovered.toFixed(3)}</td>
                <td className="num mono">{s.deadFraction === null ? '—' : formatFraction(s.deadFraction)}</td>
                <td className="num" title={s.nTokens === null ? undefined : `${s.nTokens.toLocaleString('en')} tokens`}>
                  {formatTokens(s.nTokens)}
                </td>
              </tr>
            ))}
          </tbody>
        ))}
      </table>
    </div>
  );
}

/**
 * The feature page's static sections as HTML strings: the SAE and run line, the statistics, the logit weights, the
 * similar features and the SAE's config. React rendered each as a tree of elements twice per request (the flight
 * data, then the HTML from it) and sent it twice; as strings they cost a fraction of that, and reach the page once,
 * by key (app/_components/server-html). The page and ./sections (the browser's recovery after a client navigation)
 * make them with the same code, after the reader's access was checked.
 *
 * Labels, pieces, corpus names, import paths and the config are user or import input: every text and attribute goes
 * through escapeHtml, and attributes are double-quoted (escapeHtml leaves single quotes alone).
 */
import { createHash } from 'node:crypto';
import type { FeaturePage, FeatureStats } from '@/server/feature-page';
import type { SimilarFeatureGroup } from '@/server/similar-features';
import { cachedHtml, keepHtml } from '@/server/html-cache';
import { saeHref } from '@/server/addresses';
import { describeRunSource } from '../../../_components/run-source';
import { saeHooks } from '../../../_components/sae-hooks';
import { escapeHtml } from '../../../_components/token-html';
import { formatFraction } from '../../../_components/token-format';
import { logitWeightsHtml } from './evidence';
import styles from './feature.module.css';

const num = (v: number, digits = 3) => (Number.isFinite(v) ? v.toFixed(digits) : '—');

function densityText(s: FeatureStats): string {
  if (s.nonzeroCount === 0) return `dead: never fired in ${s.nTokens.toLocaleString('en')} tokens`;
  return `${formatFraction(s.density)} (${s.nonzeroCount.toLocaleString('en')} of ${s.nTokens.toLocaleString('en')} tokens)`;
}

function bosNote(s: FeatureStats): string {
  return `counted in density; left out of the examples, the max and the histogram (${s.bosCount} of ${s.nonzeroCount} firings)`;
}

/** The statistics table (data-testid feature-stats, a stat-{key} cell each). */
export function statsHtml(s: FeatureStats): string {
  const rows: [key: string, name: string, value: string, note?: string][] = [
    ['density', 'density', densityText(s), `fraction of tokens with activation > 0, over N = ${s.nTokens.toLocaleString('en')} tokens, BOS included`],
    ...(s.bosCount === null
      ? []
      : [['bos', 'firings at BOS', s.bosCount.toLocaleString('en'), s.bosExcluded ? bosNote(s) : 'counted in density, and ranked in the examples like any token'] as [string, string, string, string]]),
    ['max', 'max activation', num(s.maxAct), s.bosExcluded ? 'over the tokens other than BOS' : undefined],
    ['mean', 'mean activation', num(s.meanAct), 'over the tokens where it fires'],
    ['mean-all', 'mean over all tokens', num(s.meanActAll, 4)],
    ['encoder-bias', 'encoder bias', num(s.encoderBias, 4), 'b_enc[f]'],
    ['norms', '‖W_enc[:, f]‖ / ‖W_dec[f]‖', `${num(s.encoderNorm)} / ${num(s.decoderNorm)}`],
    ['de', 'D/E projection', `${num(s.deDot)} (cos ${num(s.deCos)})`, 'W_enc[:, f] · W_dec[f], and its cosine'],
  ];
  const body = rows
    .map(
      ([key, name, value, note]) =>
        `<tr><th scope="row"${note ? ` title="${escapeHtml(note)}"` : ''}>${escapeHtml(name)}</th><td class="mono" data-testid="stat-${key}">${escapeHtml(value)}</td></tr>`,
    )
    .join('');
  return `<table class="${styles.stats}" data-testid="feature-stats"><tbody>${body}</tbody></table>`;
}

/** How the page names the logit-weight convention its numbers follow. */
function logitConvention(folded: boolean): string {
  return folded ? 'final norm folded into W_U (TransformerLens fold_ln, as Neuronpedia)' : 'raw W_dec·W_U, final norm not folded';
}

/** The logit weights' convention, then the tokens raised beside those lowered. */
function logitsHtml(s: FeatureStats, pieces: Record<number, string>): string {
  return `<p class="muted" data-testid="logit-convention">${logitConvention(s.logitFoldLn)}</p>${logitWeightsHtml(s, pieces)}`;
}

/** How the page names a set of neighbours: its own SAE's by what was compared, another SAE's by its hook. */
function similarCaption(group: SimilarFeatureGroup): string {
  return group.same ? `this SAE, ${group.kind} cosine` : `${group.sae.hookName} (${group.sae.slug}), decoder cosine`;
}

/** The similar features' tables (their labels are other pages': shown as they are now). */
export function similarHtml(groups: SimilarFeatureGroup[], model: string): string {
  return groups
    .map((group) => {
      const rows = group.neighbours
        .map((n) => {
          const href = `${saeHref({ model, sae: group.sae.slug })}/${n.index}`;
          const name = group.same ? String(n.index) : `${group.sae.slug}/${n.index}`;
          const label = n.label ? escapeHtml(n.label) : '<span class="muted">no label</span>';
          return (
            `<tr><td class="mono"><a href="${escapeHtml(href)}">${escapeHtml(name)}</a></td>` +
            `<td class="${styles.similarLabel}"${n.label ? ` title="${escapeHtml(n.label)}"` : ''}>${label}</td>` +
            `<td class="mono ${styles.value}">${n.cosine.toFixed(3)}</td></tr>`
          );
        })
        .join('');
      return (
        `<table class="${styles.similar}" data-testid="similar-${group.same ? 'own' : 'other'}-${group.kind}">` +
        `<caption>${escapeHtml(similarCaption(group))}</caption><tbody>${rows}</tbody></table>`
      );
    })
    .join('');
}

/** The SAE's hook, architecture and width, and where the dashboards come from. */
export function provenanceHtml(sae: FeaturePage['sae'], run: FeaturePage['run']): string {
  let html = escapeHtml(`${saeHooks(sae.hookName, sae.cfg)} · ${sae.architecture} · d_sae ${sae.dSae.toLocaleString('en')}`);
  if (run) {
    html += run.source
      ? ` <span data-testid="run-source">· dashboards ${escapeHtml(describeRunSource(run.source))}</span>`
      : escapeHtml(` · dashboards over ${run.nTokens?.toLocaleString('en') ?? '?'} tokens of “${run.corpusName}”`);
    if (run.completedAt) html += escapeHtml(` · ${run.source ? 'imported' : 'computed'} ${run.completedAt.slice(0, 16).replace('T', ' ')} UTC`);
  }
  return html;
}

/** The SAE's cfg.json, folded. */
function configHtml(cfg: Record<string, unknown>): string {
  return `<summary>SAELens config</summary><pre class="mono" data-testid="sae-cfg">${escapeHtml(JSON.stringify(cfg, null, 2))}</pre>`;
}

/** A part of the page by name, as ./sections answers it and ServerHtml recovers it. */
export type SectionName = 'provenance' | 'stats' | 'logits' | 'similar' | 'config';

/**
 * The page's static sections, each with the key it is kept under (server/html-cache): the dashboard's statistics and
 * logit weights under the run, the feature row's version (xmin) and the model's files, rendered once for all readers;
 * the rest, which edits elsewhere change (a neighbour's label, the SAE's config), rendered for each request and kept
 * under a digest of their HTML. Nothing per reader: the neighbours are those of the SAEs this reader may see, and the
 * key names that HTML only. The caller has checked the reader's access.
 */
export function featureSections(data: FeaturePage): Partial<Record<SectionName, { key: string; html: string }>> {
  const keep = (name: SectionName, html: string) => ({ key: keepHtml(`feature-${name}`, html), html });
  const { stats } = data;
  const sections: Partial<Record<SectionName, { key: string; html: string }>> = {
    provenance: keep('provenance', provenanceHtml(data.sae, data.run)),
    config: keep('config', configHtml(data.sae.cfg)),
  };
  if (stats) {
    const versioned = (name: SectionName, render: () => string) => {
      const key = createHash('sha256').update(`${name}/${data.model.contentHash}/${data.run?.id}/${data.index}@${stats.version}`).digest('base64url').slice(0, 22);
      return { key, html: cachedHtml(key, render) };
    };
    sections.stats = versioned('stats', () => statsHtml(stats));
    sections.logits = versioned('logits', () => logitsHtml(stats, data.pieces));
  }
  if (data.similar.length > 0) sections.similar = keep('similar', similarHtml(data.similar, data.model.slug));
  return sections;
}

/** A digest of the sections' keys: it changes whenever what any of them shows does. */
export function sectionsVersion(sections: ReturnType<typeof featureSections>): string {
  const keys = Object.values(sections).map((section) => section.key);
  return createHash('sha256').update(keys.join()).digest('base64url').slice(0, 16);
}

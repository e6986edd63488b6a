/**
 * The feature table's rows as one HTML string (./feature-table): 50 rows of chips and snippets were ~2,000 React
 * elements, rendered twice per request (flight data and HTML) and sent twice. As a string they cost a fraction of
 * that to build, and ./server-html sends them once. Labels and pieces go through escapeHtml (./token-html).
 */
import type { FeatureTableRow } from '@/server/saes';
import { featureHref } from '@/server/addresses';
import { NOTHING_HTML, snippetHtml, topTokensHtml } from './feature-card';
import { escapeHtml } from './token-html';
import { formatCount, formatFraction, formatValue } from './token-format';

export interface RowsOptions {
  model: string;
  sae: string;
  ultraRareDensity: number;
  /** the id of the form each row's checkbox belongs to; no checkboxes without it */
  selectionForm?: string;
  /** the table's columns, for the row that says nothing matches */
  columns: number;
}

function formatDensity(density: number, nTokens: number): string {
  if (density === 0) return `dead (0 / ${formatCount(nTokens)})`;
  return formatFraction(density);
}

function rowHtml(r: FeatureTableRow, o: RowsOptions): string {
  // the numeric cells are styled by their place (globals.css): a class each was 3 KB a page
  const num = (text: string) => `<td>${text}</td>`;
  const ultraRare = r.density > 0 && r.density < o.ultraRareDensity ? '<span class="tag">ultra-rare</span>' : '';
  return (
    '<tr>' +
    (o.selectionForm
      ? `<td><input type="checkbox" name="index" value="${r.index}" form="${escapeHtml(o.selectionForm)}" aria-label="Select feature ${r.index}"></td>`
      : '') +
    `<td class="mono"><a href="${escapeHtml(featureHref({ model: o.model, sae: o.sae, index: r.index }))}">#${r.index}</a></td>` +
    `<td class="label-cell">${r.label === null ? NOTHING_HTML : escapeHtml(r.label)}</td>` +
    `<td>${topTokensHtml(r)}</td>` +
    `<td class="snippet-cell">${snippetHtml(r.snippet)}</td>` +
    `<td title="${r.density} over ${formatCount(r.nTokens)} tokens">${formatDensity(r.density, r.nTokens)}${ultraRare}</td>` +
    num(formatValue(r.maxAct)) +
    num(formatValue(r.encoderBias)) +
    num(r.deCos.toFixed(3)) +
    '</tr>'
  );
}

/** The rows of one page of the table, or one row saying that nothing matches. */
export function featureRowsHtml(rows: FeatureTableRow[], options: RowsOptions): string {
  if (rows.length === 0) return `<tr><td colspan="${options.columns}" class="muted">No features match these filters.</td></tr>`;
  return rows.map((r) => rowHtml(r, options)).join('');
}

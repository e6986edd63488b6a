import type { Element, ElementContent, Root } from 'hast';
import { fromHtml } from 'hast-util-from-html';
import { describe, expect, it } from 'vitest';
import { provenanceHtml, similarHtml, statsHtml } from '@/app/[model]/[sae]/[index]/sections';
import { logitWeightsHtml } from '@/app/[model]/[sae]/[index]/evidence';
import type { FeaturePage, FeatureStats } from '@/server/feature-page';
import { displayPiece } from '@/server/token-piece';
import { XSS_PAYLOADS } from '../helpers/xss-payloads';

const fragment = (html: string) => fromHtml(html, { fragment: true });
const elements = (node: Root | Element): Element[] =>
  node.children.flatMap((c: ElementContent | Root['children'][number]) => (c.type === 'element' ? [c, ...elements(c)] : []));
const text = (node: Root | Element): string =>
  node.children.map((c: ElementContent | Root['children'][number]) => (c.type === 'text' ? c.value : c.type === 'element' ? text(c) : '')).join('');
/** Every element's tag and every attribute's name: what a payload would have to add to do anything. */
const shape = (root: Root) => elements(root).map((e) => `${e.tagName}(${Object.keys(e.properties).sort().join(',')})`);

const stats: FeatureStats = {
  nTokens: 8192,
  nonzeroCount: 100,
  bosCount: 3,
  bosExcluded: true,
  density: 100 / 8192,
  maxAct: 4.25,
  meanAct: 1.5,
  meanActAll: 0.0183,
  histogram: { edges: [0, 1], counts: [100] },
  logitTop: XSS_PAYLOADS.map((_, i) => ({ id: i, value: 1 - i / 100 })),
  logitBottom: [{ id: 0, value: -0.5 }],
  logitFoldLn: true,
  logitHistogram: { edges: [0, 1], counts: [1] },
  encoderBias: -0.03,
  encoderNorm: 1,
  decoderNorm: 1,
  deDot: 0.5,
  deCos: 0.5,
  version: '1',
};
const pieces = Object.fromEntries(XSS_PAYLOADS.map((p, i) => [i, p]));

describe('the feature page sections as HTML', () => {
  it('show the statistics, one named cell each', () => {
    const root = fragment(statsHtml(stats));
    const cell = (key: string) => elements(root).find((e) => e.properties.dataTestid === `stat-${key}`)!;
    expect(text(cell('density'))).toBe('1.22% (100 of 8,192 tokens)');
    expect(text(cell('bos'))).toBe('3');
    expect(text(cell('mean-all'))).toBe('0.0183');
    expect(elements(root).filter((e) => e.tagName === 'tr')).toHaveLength(8);
  });

  it('keep hostile token pieces as text in the logit tables', () => {
    const root = fragment(logitWeightsHtml(stats, pieces));
    const firstCells = elements(root)
      .filter((e) => e.tagName === 'tr')
      .map((tr) => elements(tr).find((e) => e.tagName === 'td')!);
    expect(firstCells.slice(0, XSS_PAYLOADS.length).map((td) => text(td))).toEqual(XSS_PAYLOADS.map((p) => displayPiece(p)));
    expect(new Set(shape(root))).toEqual(new Set(['div(className)', 'table(className,dataTestid)', 'caption()', 'tbody(className)', 'tr()', 'td(title)', 'td()', 'span(style)']));
  });

  it('keep hostile labels, SAE names and import paths as text', () => {
    for (const payload of [...XSS_PAYLOADS, `" onmouseover="window.__xss=1`, `' onmouseover='window.__xss=1`]) {
      const groups = [
        { kind: 'decoder' as const, same: true, sae: { slug: 's', hookName: 'h' }, neighbours: [{ index: 3, cosine: 0.5, label: payload }] },
        { kind: 'decoder' as const, same: false, sae: { slug: payload, hookName: payload }, neighbours: [{ index: 4, cosine: 0.25, label: '' }] },
      ];
      const similar = fragment(similarHtml(groups as never, 'm'));
      const rows = elements(similar).filter((e) => e.tagName === 'tr');
      expect(rows.map((tr) => elements(tr).filter((e) => e.tagName === 'td').map((td) => text(td)))).toEqual([
        ['3', payload, '0.500'],
        [`${payload}/4`, 'no label', '0.250'],
      ]);
      expect(elements(rows[0]!).find((e) => e.tagName === 'td' && e.properties.title !== undefined)!.properties.title).toBe(payload);
      expect(elements(similar).filter((e) => e.tagName === 'caption').map((e) => text(e))[1]).toBe(`${payload} (${payload}), decoder cosine`);
      for (const tag of shape(similar)) expect(['table(className,dataTestid)', 'caption()', 'tbody()', 'tr()', 'td(className)', 'td(className,title)', 'a(href)', 'span(className)']).toContain(tag);

      const run = {
        id: 'r',
        corpusId: 'c',
        corpusName: payload,
        nTokens: 10,
        completedAt: null,
        ablated: false,
        source: { kind: 'neuronpedia', path: payload, modelId: null, sourceId: null, nTokensStated: null, inputsHash: 'x', unmatchedTokens: 0 },
      } as unknown as NonNullable<FeaturePage['run']>;
      const sae = { hookName: payload, architecture: 'standard', dSae: 16, cfg: {} } as unknown as FeaturePage['sae'];
      const imported = fragment(provenanceHtml(sae, run));
      expect(shape(imported)).toEqual(['span(dataTestid)']);
      expect(text(imported)).toContain(`imported from Neuronpedia export ${payload},`);
      const computed = fragment(provenanceHtml(sae, { ...run, source: null }));
      expect(shape(computed)).toEqual([]);
      expect(text(computed)).toBe(`${payload} · standard · d_sae 16 · dashboards over 10 tokens of “${payload}”`);
    }
  });
});

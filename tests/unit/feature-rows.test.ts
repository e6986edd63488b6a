import type { Element, ElementContent, Root } from 'hast';
import { fromHtml } from 'hast-util-from-html';
import { describe, expect, it } from 'vitest';
import { featureRowsHtml } from '@/app/_components/feature-rows';
import type { FeatureTableRow } from '@/server/saes';
import { XSS_PAYLOADS } from '../helpers/xss-payloads';

const fragment = (html: string) => fromHtml(`<table><tbody>${html}</tbody></table>`, { fragment: true });
const elements = (node: Root | Element): Element[] =>
  node.children.flatMap((c: ElementContent | Root['children'][number]) => (c.type === 'element' ? [c, ...elements(c)] : []));
const text = (node: Root | Element): string =>
  node.children.map((c: ElementContent | Root['children'][number]) => (c.type === 'text' ? c.value : c.type === 'element' ? text(c) : '')).join('');
const cells = (root: Root) => elements(root).filter((e) => e.tagName === 'tr').map((tr) => elements(tr).filter((e) => e.tagName === 'td'));

const row = (over: Partial<FeatureTableRow>): FeatureTableRow => ({
  index: 17,
  label: 'closing brackets',
  density: 0.0123,
  nTokens: 8192,
  maxAct: 4.25,
  encoderBias: -0.0312,
  deCos: 0.8761,
  deDot: 1.2,
  topTokens: [
    { piece: ' the', value: 4.25 },
    { piece: ')', value: 3.5 },
  ],
  logits: [{ piece: ']', value: 0.75 }],
  snippet: { pieces: ['a', ' b', ' (', ')', ' c'], at: 3, maxAct: 4.25, clippedStart: true, clippedEnd: false },
  ...over,
});
const options = { model: 'm', sae: 'blocks.1/res', ultraRareDensity: 1e-5, columns: 8 };

describe('the feature table rows as HTML', () => {
  it('show what the table shows about each feature, in its columns', () => {
    const root = fragment(featureRowsHtml([row({}), row({ index: 3, label: null, density: 2e-6, topTokens: [], logits: [], snippet: null })], options));
    const [first, second] = cells(root);
    expect(first!.map((td) => text(td))).toEqual(['#17', 'closing brackets', 'fires on  the)raises ]', '…a b () c', '1.23%', '4.250', '-0.031', '0.876']);
    const link = elements(first![0]!).find((e) => e.tagName === 'a')!;
    expect(link.properties.href).toBe('/m/blocks.1%2Fres/17');
    // each chip's tooltip quotes its piece and names its value; the snippet marks the peak and its tooltip is the whole text
    const chips = elements(first![2]!).filter((e) => e.tagName === 'code');
    expect(chips.map((c) => c.properties.title)).toEqual(['" the": 4.250', '")": 3.500', '"]": 0.750']);
    // what the values are is said once for each kind
    expect(elements(first![2]!).filter((e) => e.tagName === 'span' && e.properties.title).map((e) => [text(e), e.properties.title])).toEqual([
      ['fires on ', 'each token’s max activation'],
      ['raises ', 'each token’s logit weight'],
    ]);
    const mark = elements(first![3]!).find((e) => e.tagName === 'mark')!;
    expect(text(mark)).toBe(')');
    expect(elements(first![3]!)[0]!.properties.title).toBe('a b () c (peak 4.250)');
    expect(first![4]!.properties.title).toBe('0.0123 over 8,192 tokens');
    // no label, no card evidence: dashes; a rare density is tagged
    expect(second!.map((td) => text(td)).slice(0, 5)).toEqual(['#3', '—', '—', '—', '0.0002%ultra-rare']);
    // a dead feature says over how many tokens
    const dead = cells(fragment(featureRowsHtml([row({ density: 0, nTokens: 2_560_000 })], options)))[0]!;
    expect(text(dead[4]!)).toBe('dead (0 / 2,560,000)');
  });

  it('tick into the selection form when there is one, and say when nothing matches', () => {
    const ticked = cells(fragment(featureRowsHtml([row({})], { ...options, selectionForm: 'pick' })))[0]!;
    const box = elements(ticked[0]!)[0]!;
    expect(box.properties).toMatchObject({ type: 'checkbox', name: 'index', value: '17', form: 'pick', ariaLabel: 'Select feature 17' });
    const empty = cells(fragment(featureRowsHtml([], options)));
    expect(empty).toHaveLength(1);
    expect(empty[0]![0]!.properties.colSpan).toBe(8);
    expect(text(empty[0]![0]!)).toBe('No features match these filters.');
  });

  it('write labels and pieces as the text they are', () => {
    const hostile = XSS_PAYLOADS.map((p, i) => row({ index: i, label: p, topTokens: [{ piece: p, value: 1 }], logits: [{ piece: p, value: 1 }], snippet: { pieces: [p, p, p], at: 1, maxAct: 1, clippedStart: false, clippedEnd: false } }));
    const root = fragment(featureRowsHtml(hostile, options));
    const allowed = new Set(['tr', 'td', 'a', 'span', 'code', 'mark']);
    for (const el of elements(root).slice(2)) expect(allowed).toContain(el.tagName);
    for (const el of elements(root)) expect(Object.keys(el.properties).filter((k) => k.startsWith('on'))).toEqual([]);
    const shown = (p: string) => p.replace(/\n/g, '⏎').replace(/\t/g, '⇥');
    for (const [i, tr] of cells(root).entries()) {
      expect(text(tr[1]!)).toBe(XSS_PAYLOADS[i]);
      expect(elements(tr[2]!).filter((e) => e.tagName === 'code').map((c) => c.properties.title)).toEqual([`${JSON.stringify(XSS_PAYLOADS[i])}: 1.000`, `${JSON.stringify(XSS_PAYLOADS[i])}: 1.000`]);
      expect(text(elements(tr[3]!).find((e) => e.tagName === 'mark')!)).toBe(shown(XSS_PAYLOADS[i]!));
    }
  });
});

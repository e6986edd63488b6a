import type { Element, ElementContent, Root } from 'hast';
import { fromHtml } from 'hast-util-from-html';
import { describe, expect, it } from 'vitest';
import { exampleListHtml, exampleTokens, intervalList, selectExamples } from '@/app/[model]/[sae]/[index]/example-lines';
import { tokenLineHtml } from '@/app/_components/token-html';
import type { FeatureExample } from '@/server/feature-page';
import { PADDING_PIECE } from '@/server/token-piece';
import { XSS_PAYLOADS } from '../helpers/xss-payloads';

const N = 128;
const pieces = Object.fromEntries(Array.from({ length: N }, (_, id) => [id, ` p${id}`]));
/** A feature firing on tokens 58..62 only, peaking at 60; ablating it changes the loss of tokens 59..63. */
const example = (over: Partial<FeatureExample>): FeatureExample => ({
  kind: 'top',
  interval: -1,
  rank: 0,
  contextIndex: 7,
  position: null,
  maxAct: 3,
  maxPos: 60,
  tokens: Array.from({ length: N }, (_, t) => t),
  acts: Array.from({ length: N }, (_, t) => (Math.abs(t - 60) <= 2 ? 3 - Math.abs(t - 60) : 0)),
  lossDelta: Array.from({ length: N }, (_, t) => (t >= 58 && t <= 62 ? -0.25 : 0)),
  ...over,
});

const fragment = (html: string) => fromHtml(html, { fragment: true });
const elements = (node: Root | Element): Element[] =>
  node.children.flatMap((c: ElementContent | Root['children'][number]) => (c.type === 'element' ? [c, ...elements(c)] : []));
const text = (node: Root | Element): string =>
  node.children.map((c: ElementContent | Root['children'][number]) => (c.type === 'text' ? c.value : c.type === 'element' ? text(c) : '')).join('');
const tokenSpans = (root: Root) => elements(root).filter((e) => e.properties.dataPos !== undefined);
/** A token span by its position (hast keeps data attributes as strings). */
const at = (spans: Element[], t: number) => spans.find((s) => s.properties.dataPos === String(t))!;

describe('example lines', () => {
  it('show the window around the peak, with a span only for the tokens that fire or change the loss', () => {
    const tokens = exampleTokens(example({}), pieces, 3, 18);
    expect(tokens.label).toBe('context 7, peak 3.000, tokens 43–79 of 128');
    const root = fragment(tokens.html);
    // positions 42..78, cut at both ends (the stylesheet shows "…" there)
    expect(text(root)).toBe(Array.from({ length: 37 }, (_, k) => ` p${42 + k}`).join(''));
    expect(tokens.cut).toBe('both');
    const spans = tokenSpans(root);
    expect(spans.map((s) => s.properties.dataPos)).toEqual(['58', '59', '60', '61', '62', '63']);
    expect(spans.map((s) => text(s))).toEqual([' p58', ' p59', ' p60', ' p61', ' p62', ' p63']);
    // the peak is the tab stop, named in the HTML with its value and loss change; the others are named on hover
    const peak = at(spans, 60);
    expect(peak.properties.tabIndex).toBe(0);
    expect(peak.properties.ariaLabel).toBe('" p60" · act 3.000 · ablated: Δloss -0.250');
    // the one tab stop; the browser makes the others focusable when hovered or reached by the keys
    expect(spans.map((s) => s.properties.tabIndex)).toEqual([undefined, undefined, 0, undefined, undefined, undefined]);
    // shaded by a class per strength; token 63 does not fire (only its loss changed: made at 62)
    expect(peak.properties.className).toContain('o9');
    expect(at(spans, 61).properties.className).toContain('o6');
    const after = at(spans, 63);
    expect(after.properties).toMatchObject({ dataValue: '0', dataD: '-0.25' });
    expect(after.properties.className).toBeUndefined();
  });

  it('centre an interval example on its drawn token, clipped at the context start, and expand to the whole context', () => {
    const drawn = example({ kind: 'interval', interval: 3, rank: 2, position: 5, lossDelta: null, acts: Array.from({ length: N }, (_, t) => (t === 5 ? 1 : 0)) });
    const windowed = exampleTokens(drawn, pieces, 3, 18);
    const root = fragment(windowed.html);
    expect(text(root)).toBe(Array.from({ length: 24 }, (_, k) => ` p${k}`).join(''));
    expect(windowed.cut).toBe('end');
    expect(tokenSpans(root).map((s) => [s.properties.dataPos, s.properties.tabIndex])).toEqual([['5', 0]]);
    const whole = exampleTokens(drawn, pieces, 3);
    expect(text(fragment(whole.html))).toBe(Array.from({ length: N }, (_, k) => ` p${k}`).join(''));
    expect(whole.label).toBe('context 7, peak 3.000, tokens 1–128 of 128');
    expect(whole.cut).toBeUndefined();
  });

  it('make one list item per example, in order, with its value and whether it leaves tokens out', () => {
    const short = example({ rank: 1, tokens: [1, 2, 3, 999], acts: [0, 1, 2, 0], maxPos: 2, maxAct: 2, lossDelta: null });
    const root = fragment(exampleListHtml([example({}), short], pieces, 3, 18, 'top-keys'));
    const items = elements(root).filter((e) => e.tagName === 'li');
    expect(items).toHaveLength(2);
    expect(items.map((i) => text(i.children[0] as Element))).toEqual(['3.000', '2.000']);
    const lines = elements(root).filter((e) => e.properties.role === 'group');
    expect(lines.map((l) => l.properties.ariaDescribedBy)).toEqual([['top-keys'], ['top-keys']]);
    expect(text(lines[1]!)).toBe(' p1 p2 p3<999>');
    expect(lines.map((l) => l.properties.dataCut)).toEqual(['both', undefined]);
  });

  it('show padding (ids below 0 the pieces lack) as empty cells titled "padding", never as the line’s tab stop', () => {
    // a context padded on the left to 6 tokens; −1 is an imported run's own piece, sent with the page's pieces
    const padded = example({ tokens: [-2, -2, -1, 1, 2, 3], acts: [0, 0, 0, 1, 0, 0], maxPos: 3, maxAct: 1, lossDelta: null });
    const root = fragment(exampleTokens(padded, { ...pieces, [-1]: '<|outofrange|>' }, 1).html);
    const cells = elements(root).filter((e) => e.properties.title === 'padding');
    expect(cells).toHaveLength(2);
    for (const cell of cells) {
      expect(text(cell)).toBe('');
      expect(cell.properties.dataPos).toBeUndefined(); // no token to reach by the keys
    }
    expect(text(root)).toBe('<|outofrange|> p1 p2 p3');
    // without a focus, the tab stop is the first token after the padding
    const line = { pieces: [PADDING_PIECE, ' a', ' b'], start: 0, value: () => 0, scale: 1, shading: 'activation' as const, valueName: 'act' };
    const spans = tokenSpans(fragment(tokenLineHtml(line)));
    expect(spans.map((s) => [s.properties.dataPos, s.properties.tabIndex])).toEqual([['1', 0], ['2', -1]]);
    expect(spans[0]!.properties.ariaLabel).toBe('" a" · act 0');
  });

  it('write hostile pieces as text: nothing but the renderer’s own elements and attributes', () => {
    const hostile = Object.fromEntries(XSS_PAYLOADS.map((p, id) => [id, p]));
    const tokens = XSS_PAYLOADS.map((_, id) => id);
    const e = example({ tokens, acts: tokens.map((t) => t % 3), maxPos: 1, lossDelta: null });
    const root = fragment(exampleListHtml([e], hostile, 2, 100, 'keys'));
    const allowed = new Set(['dataTestid', 'className', 'title', 'role', 'ariaLabel', 'ariaDescribedBy', 'dataPos', 'dataValue', 'tabIndex', 'dataCut']);
    for (const el of elements(root)) {
      expect(['li', 'span']).toContain(el.tagName);
      for (const name of Object.keys(el.properties)) expect(allowed).toContain(name);
    }
    // every payload is there as the text it is, newlines and tabs shown as ⏎ and ⇥
    const line = elements(root).find((el) => el.properties.role === 'group')!;
    expect(text(line)).toBe(XSS_PAYLOADS.join('').replace(/\n/g, '⏎').replace(/\t/g, '⇥'));
  });

  it('are chosen by list name, as the page and its lines route name them; any other name is none', () => {
    const top = [0, 1, 2].map((rank) => example({ rank }));
    const random = [example({ kind: 'random', rank: 0 })];
    const drawn = [0, 1, 2].map((rank) => example({ kind: 'interval', interval: 4, rank, position: 9 }));
    const page = { top, random, intervals: [{ index: 4, lo: 0, hi: 1, count: 5, exampleCount: drawn.length, examples: drawn }] };
    expect(selectExamples(page, 'top')).toEqual(top);
    expect(selectExamples(page, 'top.2')).toEqual(top.slice(0, 2));
    expect(selectExamples(page, 'random')).toEqual(random);
    expect(selectExamples(page, 'i4.1')).toEqual(drawn.slice(0, 1));
    expect(selectExamples(page, 'i3')).toEqual([]);
    for (const name of ['', 'all', 'top.', 'i', 'i4.x', 'top,random', 'i1234']) expect(selectExamples(page, name)).toBeNull();
    expect(selectExamples(page, intervalList(page.intervals[0]!, 2))).toEqual(drawn.slice(0, 2));
    expect(selectExamples(page, intervalList(page.intervals[0]!))).toEqual(drawn);
  });
});

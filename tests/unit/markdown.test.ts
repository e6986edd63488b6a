/**
 * server/markdown.ts without a database: feature links ([[...]], [[...|text]], bare paths, pasted URLs of this site
 * only), chips and broken links, mentions, maths, footnotes with per-text ids, and sanitising of hostile markdown
 * (tests/helpers/xss-payloads.ts): the HTML is parsed and every element and attribute checked. The cost bounds: the
 * attacks of issue 10 (2.5 KB of nested quotes, 4,000 levels, 2 KB of nested \sqrt) and their kin are refused
 * quickly and with a message, before any parse; stored HTML takes its chips without a parse; images are never loaded.
 */
import type { Element, Root } from 'hast';
import { fromHtml } from 'hast-util-from-html';
import { describe, expect, it } from 'vitest';
import {
  applyChips,
  checkMarkdown,
  featureAddressOf,
  featuresInHtml,
  MARKDOWN_LIMITS,
  MarkdownRefused,
  parseMarkdown,
  plainText,
  renderMarkdown,
  renderStored,
  renderStoredOrPlaceholder,
  toHtml,
} from '@/server/markdown';
import { XSS_PAYLOADS } from '../helpers/xss-payloads';

const HOSTS = ['lexicon.example.org', '127.0.0.1:3000'];

function elements(html: string): Element[] {
  const out: Element[] = [];
  const walk = (node: Root | Element) => {
    for (const child of node.children) {
      if (child.type === 'element') {
        out.push(child);
        walk(child);
        if (child.content) walk(child.content as unknown as Root);
      }
    }
  };
  walk(fromHtml(html, { fragment: true }));
  return out;
}

describe('feature links', () => {
  it('finds [[address]], [[address|text]], bare paths and this site’s URLs, each once, and nothing in code', () => {
    const md = [
      'See [[stories260K/l1/5]] and [[stories260K/l1/6|the quote one]], also /stories260K/l1/7.',
      'Pasted: https://lexicon.example.org/stories260K/l1/8 and http://127.0.0.1:3000/stories260K/l1/9?x=1#top',
      'Not ours: https://github.com/a/b/10, not a path: 1/2/3, a/b/11, /a/b/c, /usr/lib/x/12',
      '`[[stories260K/l1/13]]` and a [relative link](/stories260K/l2/14) and [[stories260K/l1/5]] again',
    ].join('\n\n');
    const { features } = parseMarkdown(md, HOSTS);
    expect(features.map((f) => `${f.model}/${f.sae}/${f.index}`)).toEqual([
      'stories260K/l1/5',
      'stories260K/l1/6',
      'stories260K/l1/7',
      'stories260K/l1/8',
      'stories260K/l1/9',
      'stories260K/l2/14',
    ]);
  });

  it('recognises feature URLs by path and host', () => {
    expect(featureAddressOf('/m/s/3', [])).toEqual({ model: 'm', sae: 's', index: 3 });
    expect(featureAddressOf('//evil.org/m/s/3', [])).toBeNull();
    expect(featureAddressOf('https://LEXICON.example.org/m/s/3/', HOSTS)).toEqual({ model: 'm', sae: 's', index: 3 });
    expect(featureAddressOf('https://other.org/m/s/3', HOSTS)).toBeNull();
    expect(featureAddressOf('/m/s/99999999999', [])).toBeNull();
    expect(featureAddressOf('/m/s/features', [])).toBeNull();
  });

  it('renders chips with the label (or the given text) and broken links for features not in the map', () => {
    const parsed = parseMarkdown('[[m/s/1]] [[m/s/2|my words]] [[m/s/3]] https://lexicon.example.org/m/s/1', HOSTS);
    const html = toHtml(parsed, { chips: new Map([['m/s/1', { label: 'quote <marks>' }], ['m/s/2', { label: 'x' }]]) });
    expect(html).toContain(
      '<a href="/m/s/1" class="feature-chip" data-feature="m/s/1"><span class="feature-chip-id">m/s/1</span><span class="feature-chip-label">quote &#x3C;marks></span></a>',
    );
    expect(html).toContain('<span class="feature-chip-label">my words</span>');
    expect(html).toContain('<a href="/m/s/3" class="feature-link broken" title="no such feature">m/s/3</a>');
    expect(html).toContain('<a href="https://lexicon.example.org/m/s/1" class="feature-chip" data-feature="m/s/1">');
    // an unlabelled feature's chip shows its address alone
    expect(toHtml(parseMarkdown('[[m/s/4]]'), { chips: new Map([['m/s/4', { label: '' }]]) })).toContain(
      '<span class="feature-chip-id">m/s/4</span></a>',
    );
    // without a map (no database at hand) links stay plain
    expect(renderMarkdown('[[m/s/3]]')).toContain('<a href="/m/s/3" class="feature-link">m/s/3</a>');
  });
});

describe('mentions', () => {
  it('collects @handles outside code, links and email addresses, lower-cased', () => {
    const { mentions } = parseMarkdown('@Ada and @bo.b, thanks @ada! Mail cy@example.org, `@code`, [@link](https://x.org), @d_-');
    expect(mentions).toEqual(['ada', 'bo.b', 'd_']);
  });

  const ACCOUNTS = new Map([
    ['ada', 'u-ada'],
    ['bo.b', 'u/bob?'],
  ]);
  const mentionLinks = (html: string) =>
    elements(html)
      .filter((e) => e.tagName === 'a' && String(e.properties.className) === 'mention')
      .map((e) => `${e.properties.href} ${e.children.map((c) => (c.type === 'text' ? c.value : '?')).join('')}`);

  it('links the @handles of known accounts in text, as written, and leaves unknown handles plain', () => {
    const { html } = renderStored('Thanks @Ada, and @bo.b. Also @nobody and @ada again.', { accounts: ACCOUNTS });
    expect(mentionLinks(html)).toEqual(['/users/u-ada @Ada', '/users/u%2Fbob%3F @bo.b', '/users/u-ada @ada']);
    expect(html).toBe(
      '<p>Thanks <a href="/users/u-ada" class="mention">@Ada</a>, and <a href="/users/u%2Fbob%3F" class="mention">@bo.b</a>. Also @nobody and <a href="/users/u-ada" class="mention">@ada</a> again.</p>',
    );
    // without accounts (a description, a hypothesis) nothing is linked
    expect(mentionLinks(renderStored('Thanks @ada').html)).toEqual([]);
  });

  it('leaves mentions in code, maths, links and email addresses alone, and finds them in emphasis, lists and tables', () => {
    const source = ['`@ada`', '```\n@ada\n```', '$@ada$', '[@ada](https://x.org)', '<https://x.org/@ada>', 'ada@ada.org', '*@ada*', '- @ada', '', '| a |\n|---|\n| @ada |'].join('\n\n');
    const { html } = renderStored(source, { accounts: ACCOUNTS });
    expect(mentionLinks(html)).toEqual(['/users/u-ada @ada', '/users/u-ada @ada', '/users/u-ada @ada']);
    expect(html).toContain('<code>@ada</code>');
    expect(html).toContain('<a href="https://x.org">@ada</a>');
    expect(html).toContain('ada@ada.org');
  });

  it('lets hostile markup make no mention link, nor break out of one', () => {
    const hostile = [
      '<a class="mention" href="/users/u-ada">@ada</a>',
      '<span class="mention">@ada</span>',
      '[x](javascript:alert(1)) @ada"><script>alert(1)</script>',
      '@ada<img src=x onerror=alert(1)>',
      '@ada&quot; onmouseover=&quot;alert(1)',
    ].join('\n\n');
    const { html } = renderStored(hostile, { accounts: ACCOUNTS });
    for (const e of elements(html)) {
      expect(['p', 'a']).toContain(e.tagName);
      if (e.tagName === 'a' && String(e.properties.className) === 'mention') {
        expect(Object.keys(e.properties).sort()).toEqual(['className', 'href']);
        expect(e.properties.href).toBe('/users/u-ada');
        expect(e.children).toEqual([{ type: 'text', value: '@ada', position: expect.anything() }]);
      } else if (e.tagName === 'a') {
        expect(e.properties.className).toBeUndefined();
      }
    }
    // the text of dropped raw HTML stays text, so each line still mentions @ada once
    expect(mentionLinks(html)).toHaveLength(5);
    expect(html).not.toMatch(/<script|<img/);
  });
});

describe('maths, code and footnotes', () => {
  it('typesets inline and display maths with KaTeX', () => {
    const html = renderMarkdown('Energy $E = mc^2$.\n\n$$\n\\sum_{i=1}^n x_i\n$$');
    expect(html).toContain('<span class="katex">');
    expect(html).toContain('<span class="katex-display">');
    expect(html).toContain('<annotation encoding="application/x-tex">E = mc^2</annotation>');
    expect(html).not.toContain('$');
  });

  it('keeps code blocks as code, with their language class', () => {
    const html = renderMarkdown('```python\nprint("<b>hi</b>")\n```');
    expect(html).toContain('<pre><code class="language-python">print("&#x3C;b>hi&#x3C;/b>")\n</code></pre>');
  });

  it('links footnotes within one text, with ids unique per text', () => {
    const html = renderMarkdown('Claim[^a].\n\n[^a]: Source.', { idPrefix: 'c1-' });
    expect(html).toContain('href="#user-content-c1-fn-a"');
    expect(html).toContain('id="user-content-c1-fn-a"');
    expect(html).toContain('id="user-content-c1-fnref-a"');
    expect(html).toContain('href="#user-content-c1-fnref-a"');
    expect(renderMarkdown('Claim[^a].\n\n[^a]: Source.', { idPrefix: 'c2-' })).toContain('id="user-content-c2-fn-a"');
  });

  it('gives snippets as plain text', () => {
    expect(plainText('**Bold** claim about [[m/s/1]] with `code`\n\n- item', 40)).toBe('Bold claim about m/s/1 with code item');
    expect(plainText('x'.repeat(50), 10)).toBe(`${'x'.repeat(9)}…`);
  });
});

describe('sanitising hostile markdown', () => {
  const FORBIDDEN_TAGS = new Set(['script', 'iframe', 'object', 'embed', 'style', 'form', 'meta', 'base', 'input', 'link', 'body', 'video', 'source', 'noscript', 'button']);
  // KaTeX (running after the sanitiser) writes sizes and offsets into style attributes; nothing else may.
  const KATEX_STYLE = /^(?:(?:height|width|top|bottom|vertical-align|margin-(?:left|right|top)|min-width|padding-left|border-bottom-width|border-top-width|border-right-width|color|position|left|right):-?[\w.#% ]+;)*$/;

  it(`leaves nothing executable in any of ${XSS_PAYLOADS.length} payloads`, () => {
    expect(XSS_PAYLOADS.length).toBeGreaterThanOrEqual(25);
    for (const payload of XSS_PAYLOADS) {
      const html = renderMarkdown(payload, { chips: new Map([['m/s/1', { label: 'ok' }]]) });
      for (const el of elements(html)) {
        const where = `${el.tagName} in the rendering of ${JSON.stringify(payload)}`;
        expect(FORBIDDEN_TAGS.has(el.tagName), where).toBe(false);
        for (const [name, value] of Object.entries(el.properties)) {
          expect(/^on/i.test(name), `${name} on ${where}`).toBe(false);
          if (name === 'href' || name === 'src' || name === 'action' || name === 'xLinkHref') {
            expect(String(value), `${name} on ${where}`).toMatch(/^(?:https?:|mailto:|\/[^/]|#|[\w.-]+$)/i);
          }
          if (name === 'style') {
            expect(el.properties.className, `style outside KaTeX: ${where}`).toBeDefined();
            expect(String(value), `style on ${where}`).toMatch(KATEX_STYLE);
            expect(String(value)).not.toMatch(/url\(|expression|fixed/i);
          }
        }
      }
      expect(html, payload).not.toMatch(/<[^>]+\son\w+=/i);
      expect(html, payload).not.toMatch(/(?:href|src)="\s*(?:javascript|data|vbscript):/i);
    }
  });

  it('keeps KaTeX’s \\href, \\url and \\html* commands inert', () => {
    for (const tex of ['\\href{javascript:alert(1)}{x}', '\\url{javascript:alert(1)}', '\\htmlStyle{position:fixed}{x}', '\\htmlData{onload=alert(1)}{x}']) {
      const html = renderMarkdown(`$${tex}$`);
      expect(html).toContain('katex');
      for (const el of elements(html)) {
        expect(el.tagName).not.toBe('a');
        expect(Object.keys(el.properties).filter((k) => /^data|^on/i.test(k))).toEqual([]);
        expect(String(el.properties.style ?? '')).not.toContain('fixed');
      }
    }
  });
});

/** Runs `f`, which must throw MarkdownRefused; its message and how long it took. */
function refusal(f: () => unknown): { message: string; ms: number } {
  const t0 = performance.now();
  try {
    f();
  } catch (err) {
    expect(err).toBeInstanceOf(MarkdownRefused);
    return { message: (err as Error).message, ms: performance.now() - t0 };
  }
  throw new Error('not refused');
}

describe('cost bounds', () => {
  // The three attacks of issue 10.
  const NESTED_QUOTES = '>'.repeat(2500) + ' boom'; // 2.5 KB: overflowed the stack of the renderer (500 for everyone)
  const DEEP_QUOTES = Array.from({ length: 4000 }, (_, i) => '> '.repeat(Math.min(i + 1, 4000))).join('\n').slice(0, 20_000); // 4,000 levels
  const DEEP_QUOTES_ONE_LINE = '> '.repeat(4000) + 'x';
  const NESTED_SQRT = '$' + '\\sqrt{'.repeat(300) + 'x' + '}'.repeat(300) + '$'; // 2 KB: 4 s and 1.1 MiB per reader

  it('refuses the attacks of issue 10 quickly, before parsing, with a message naming the bound', () => {
    expect(NESTED_SQRT.length).toBeGreaterThan(2000);
    for (const [md, message] of [
      [NESTED_QUOTES, /nesting deeper than 16 levels/],
      [DEEP_QUOTES, /nesting deeper than 16 levels/],
      [DEEP_QUOTES_ONE_LINE, /nesting deeper than 16 levels/],
      [NESTED_SQRT, /a formula longer than 1,000 characters/],
    ] as const) {
      const r = refusal(() => renderStored(md));
      expect(r.message).toMatch(message);
      expect(r.ms, r.message).toBeLessThan(500);
    }
    // a shorter chain of roots is refused for its nesting, and lists nest like quotes
    expect(refusal(() => renderStored('$' + '\\sqrt{'.repeat(40) + 'x' + '}'.repeat(40) + '$')).message).toMatch(/a formula nested deeper than 8 levels/);
    expect(refusal(() => renderStored('- '.repeat(40) + 'x')).message).toMatch(/nesting deeper than 16 levels/);
    expect(refusal(() => renderStored(Array.from({ length: 40 }, (_, i) => `${'  '.repeat(i)}- item`).join('\n'))).message).toMatch(/nesting deeper/);
  });

  it('bounds tables, brackets, emphasis, lines and maths per text', () => {
    const table = (cols: number, rows: number) => `|${'a|'.repeat(cols)}\n|${'-|'.repeat(cols)}\n${'x\n'.repeat(rows)}`;
    expect(refusal(() => checkMarkdown(table(100, 1))).message).toMatch(/a table wider than 64 columns/);
    // rows are padded to the header's width: 10 KB used to render to 5 MB
    expect(refusal(() => checkMarkdown(table(60, 1000))).message).toMatch(/tables with more than 10,000 cells/);
    expect(refusal(() => checkMarkdown('['.repeat(40) + 'x')).message).toMatch(/brackets nested deeper than 32 levels/);
    expect(refusal(() => checkMarkdown('*a '.repeat(3000))).message).toMatch(/more than 1,000 emphasis marks/);
    expect(refusal(() => checkMarkdown('[a][b] '.repeat(1000))).message).toMatch(/more than 1,000 links/);
    expect(refusal(() => checkMarkdown('a\n=\n'.repeat(60))).message).toMatch(/more than 50 heading underlines/);
    expect(refusal(() => checkMarkdown('word\n'.repeat(2001))).message).toMatch(/more than 2,000 lines/);
    expect(refusal(() => renderStored('$x$ '.repeat(MARKDOWN_LIMITS.formulas + 1))).message).toMatch(/more than 100 formulas/);
    expect(refusal(() => renderStored(`$${'\\frac{a}{b}'.repeat(30)}$`)).message).toMatch(/more than 24 roots and fractions/);
    // ordinary texts pass: prose, a table, a few formulas, quotes and lists, code with brackets
    const ordinary = [
      '# A heading\n\nSome *emphasis*, **strong**, ~~struck~~ and `code` [a link](https://example.org).',
      table(5, 20),
      '> a quote\n> > nested\n\n- a\n  - b\n    - c\n\n1. one\n2. two',
      '$$\n\\sum_{i=1}^n \\frac{x_i}{\\sqrt{n}}\n$$',
      '```lisp\n(defun f (x) (if (> x 0) (f (- x 1)) x))\n```',
      '---\n\n***\n\n- - - - - - - - - - - - - - - - - - - -',
    ].join('\n\n');
    expect(() => renderStored(ordinary)).not.toThrow();
  });

  it('shows a placeholder for a stored text over the bounds, instead of failing', () => {
    const { html, features } = renderStoredOrPlaceholder(NESTED_QUOTES, 'comment');
    expect(html).toBe('<p class="render-refused"><em>This comment could not be shown (nesting deeper than 16 levels (quotes and lists inside each other)).</em></p>');
    expect(features).toEqual([]);
    // snippets of such a text are still plain text, from a bounded prefix
    expect(plainText(`${'>'.repeat(30)} boom`, 20)).toBe('boom');
    expect(plainText(NESTED_QUOTES, 20)).toBe('');
  });
});

describe('stored HTML', () => {
  it('keeps feature links neutral, and takes the reader’s chips without parsing markdown', () => {
    const stored = renderStored('[[m/s/1]] and [my **words**](/m/s/2) and https://lexicon.example.org/m/s/1 and [[m/s/3]]', { hosts: HOSTS });
    expect(stored.features.map((f) => `${f.model}/${f.sae}/${f.index}`)).toEqual(['m/s/1', 'm/s/2', 'm/s/3']);
    expect(featuresInHtml(stored.html)).toEqual(stored.features);
    const chips = new Map([['m/s/1', { label: 'quote <marks> & more' }], ['m/s/2', { label: 'x' }]]);
    const html = applyChips(stored.html, chips);
    expect(html).toContain(
      '<a href="/m/s/1" class="feature-chip" data-feature="m/s/1"><span class="feature-chip-id">m/s/1</span><span class="feature-chip-label">quote &#x3C;marks> &#x26; more</span></a>',
    );
    expect(html).toContain('<span class="feature-chip-label">my <strong>words</strong></span>');
    expect(html).toContain('<a href="https://lexicon.example.org/m/s/1" class="feature-chip" data-feature="m/s/1">');
    expect(html).toContain('<a href="/m/s/3" class="feature-link broken" title="no such feature">m/s/3</a>');
    expect(html).not.toContain('data-feature-link');
    // the same HTML as rendering with the chips directly
    expect(html).toBe(toHtml(parseMarkdown('[[m/s/1]] and [my **words**](/m/s/2) and https://lexicon.example.org/m/s/1 and [[m/s/3]]', HOSTS), { chips }));
    // without a map: plain links
    expect(applyChips(stored.html)).toContain('<a href="/m/s/1" class="feature-link">m/s/1</a>');
    // user markup cannot pose as a neutral link: raw HTML is dropped, and text is escaped
    const fake = renderStored('<a href="/x/y/1" class="feature-link" data-feature-link="x/y/1">t</a> `<a data-feature-link="x/y/2">`');
    expect(featuresInHtml(fake.html)).toEqual([]);
  });

  it('never loads images: each becomes a link to it with its alt text', () => {
    const html = renderMarkdown('![a cat](https://tracker.example/cat.png) and [![logo](https://x.example/l.png)](https://example.org) ![](/local.png)');
    expect(html).not.toMatch(/<img/);
    expect(html).toContain('<a href="https://tracker.example/cat.png" class="image-link" rel="nofollow noopener noreferrer">image: a cat</a>');
    expect(html).toContain('<a href="https://example.org"><span class="image-link">image: logo</span></a>');
    expect(html).toContain('<a href="/local.png" class="image-link" rel="nofollow noopener noreferrer">image: /local.png</a>');
  });
});

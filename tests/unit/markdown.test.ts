/**
 * server/markdown.ts without a database: feature links ([[...]], [[...|text]], bare paths, pasted URLs of this site
 * only), chips and broken links, mentions, maths, footnotes with per-text ids, and sanitising of hostile markdown
 * (tests/helpers/xss-payloads.ts): the HTML is parsed and every element and attribute checked.
 */
import type { Element, Root } from 'hast';
import { fromHtml } from 'hast-util-from-html';
import { describe, expect, it } from 'vitest';
import { featureAddressOf, parseMarkdown, plainText, renderMarkdown, toHtml } from '@/server/markdown';
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

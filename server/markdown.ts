/**
 * Markdown from users (feature descriptions, comments, hypotheses) to HTML, on the server, with the unified family:
 * remark-parse + GFM (tables, footnotes, autolinks) + remark-math, remark-rehype (raw HTML in the source is dropped,
 * never passed through), then rehype-sanitize with GitHub's schema (no scripts, no event handlers, no style, no
 * javascript:/data: URLs, ids prefixed). Only then do our own trusted steps run on the safe tree: feature links
 * become chips (or broken links) and maths is typeset by KaTeX (with `trust: false`, so \href, \url, \includegraphics
 * and \html* stay inert). The result is safe to put into a page as HTML.
 *
 * Feature links: `[[model/sae/index]]`, `[[model/sae/index|plain text]]`, a bare path `/model/sae/index` in text, and
 * any link whose URL is such a path, relative or on one of this site's hosts (a pasted feature URL).
 */
import type { Element, ElementContent, Root as HastRoot, Text as HastText } from 'hast';
import type { Link, Parent, PhrasingContent, Root, Text } from 'mdast';
import rehypeKatex from 'rehype-katex';
import rehypeSanitize, { defaultSchema } from 'rehype-sanitize';
import rehypeStringify from 'rehype-stringify';
import remarkGfm from 'remark-gfm';
import remarkMath from 'remark-math';
import remarkParse from 'remark-parse';
import remarkRehype from 'remark-rehype';
import { unified } from 'unified';
import type { FeatureAddress } from './search';

export type { FeatureAddress };

const SLUG = '[A-Za-z0-9][A-Za-z0-9._-]*';
/** `[[stories260K/2-res/17]]` or `[[stories260K/2-res/17|the quote feature]]`: a stable feature address. */
export const FEATURE_LINK = new RegExp(`\\[\\[(${SLUG})/(${SLUG})/(\\d{1,10})(?:\\|([^\\]\\n]{1,200}))?\\]\\]`, 'g');
/** `/stories260K/2-res/17` standing alone in text (not inside a longer path or a URL). */
const BARE_PATH = new RegExp(`(?<![\\w/.:@-])/(${SLUG})/(${SLUG})/(\\d{1,10})(?![\\w/])`, 'g');
const FEATURE_PATH = new RegExp(`^/(${SLUG})/(${SLUG})/(\\d{1,10})/?(?:[?#].*)?$`);
/** `@name`: not inside a word or an email address (the user lookup is in server/comments.ts). */
const MENTION = /(?<![\w@.+-])@([A-Za-z0-9](?:[A-Za-z0-9._-]{0,62}[A-Za-z0-9_])?)/g;

export const addressKey = (a: FeatureAddress) => `${a.model}/${a.sae}/${a.index}`;

/** What a chip shows for a feature the viewer may see; features absent from the map render as broken links. */
export interface ChipInfo {
  label: string;
}
export type ChipMap = Map<string, ChipInfo>;

/** The feature a link points at: a root-relative feature path, or an http(s) URL of it on one of `hosts`. */
export function featureAddressOf(href: string, hosts: readonly string[]): FeatureAddress | null {
  let path = href;
  if (/^https?:\/\//i.test(href)) {
    let url: URL;
    try {
      url = new URL(href);
    } catch {
      return null;
    }
    if (!hosts.includes(url.host.toLowerCase())) return null;
    path = url.pathname + url.search + url.hash;
  } else if (!href.startsWith('/') || href.startsWith('//')) {
    return null;
  }
  const m = FEATURE_PATH.exec(path);
  if (!m) return null;
  const index = Number(m[3]);
  return index <= 2 ** 31 - 1 ? { model: m[1]!, sae: m[2]!, index } : null;
}

// ---------------------------------------------------------------------------------------------------------------
// Parsing: markdown to a sanitised tree, with its feature links and mentions.

/** A remark plugin turning `[[...]]` addresses and bare feature paths in text (not in code or links) into links. */
function remarkFeatureLinks() {
  return (tree: Root) => {
    const visit = (node: Parent) => {
      for (let i = 0; i < node.children.length; i++) {
        const child = node.children[i]!;
        if (child.type === 'text') {
          const parts = splitFeatureLinks(child as Text);
          if (parts) {
            node.children.splice(i, 1, ...(parts as typeof node.children));
            i += parts.length - 1;
          }
        } else if (child.type !== 'link' && child.type !== 'linkReference' && 'children' in child) {
          visit(child as Parent);
        }
      }
    };
    visit(tree);
  };
}

function splitFeatureLinks(node: Text): PhrasingContent[] | null {
  const text = node.value;
  const matches = [
    ...[...text.matchAll(FEATURE_LINK)].map((m) => ({ at: m.index!, length: m[0].length, model: m[1]!, sae: m[2]!, index: m[3]!, text: m[4] })),
    ...[...text.matchAll(BARE_PATH)].map((m) => ({ at: m.index!, length: m[0].length, model: m[1]!, sae: m[2]!, index: m[3]!, text: undefined })),
  ].sort((a, b) => a.at - b.at);
  if (matches.length === 0) return null;
  const parts: PhrasingContent[] = [];
  let last = 0;
  for (const m of matches) {
    if (m.at < last) continue; // a bare path inside a [[...]] already taken
    if (m.at > last) parts.push({ type: 'text', value: text.slice(last, m.at) });
    const address = `${m.model}/${m.sae}/${m.index}`;
    const link: Link = { type: 'link', url: `/${address}`, children: [{ type: 'text', value: m.text?.trim() || address }] };
    parts.push(link);
    last = m.at + m.length;
  }
  if (last < text.length) parts.push({ type: 'text', value: text.slice(last) });
  return parts;
}

const parser = unified()
  .use(remarkParse)
  .use(remarkGfm)
  .use(remarkMath)
  .use(remarkFeatureLinks)
  // ids are prefixed once, by the sanitiser; toHtml then makes them unique per rendered text
  .use(remarkRehype, { clobberPrefix: '' })
  // GitHub's schema keeps `language-*` classes on code, so maths (`language-math`) reaches KaTeX below.
  .use(rehypeSanitize, defaultSchema);

interface LinkData {
  feature?: FeatureAddress;
  /** the link's text is just its address or URL: the chip shows the label instead */
  auto?: boolean;
}

export interface ParsedMarkdown {
  tree: HastRoot;
  /** the features it links to (each once) */
  features: FeatureAddress[];
  /** `@handles` outside code and links, lower-cased, each once */
  mentions: string[];
}

const textOf = (node: HastRoot['children'][number]): string =>
  node.type === 'text' ? node.value : node.type === 'element' ? node.children.map(textOf).join('') : '';

/** Markdown to a sanitised tree (hosts: this site's `host[:port]`s, for pasted feature URLs). */
export function parseMarkdown(markdown: string, hosts: readonly string[] = []): ParsedMarkdown {
  const tree = parser.runSync(parser.parse(markdown)) as HastRoot;
  const features = new Map<string, FeatureAddress>();
  const mentions = new Set<string>();
  const lowerHosts = hosts.map((h) => h.toLowerCase());
  const walk = (node: HastRoot | Element) => {
    for (const child of node.children) {
      if (child.type === 'text') {
        for (const m of child.value.matchAll(MENTION)) mentions.add(m[1]!.toLowerCase());
      } else if (child.type === 'element') {
        if (child.tagName === 'a') {
          const href = typeof child.properties.href === 'string' ? child.properties.href : '';
          const feature = featureAddressOf(href, lowerHosts);
          if (feature) {
            const text = child.children.map(textOf).join('').trim();
            const key = addressKey(feature);
            child.data = { ...child.data, feature, auto: text === key || text === `/${key}` || text === href } as Element['data'];
            features.set(key, feature);
          }
        } else if (child.tagName !== 'code' && child.tagName !== 'pre') {
          walk(child);
        }
      }
    }
  };
  walk(tree);
  return { tree, features: [...features.values()], mentions: [...mentions] };
}

// ---------------------------------------------------------------------------------------------------------------
// Printing: chips, unique ids, maths, HTML.

export interface HtmlOptions {
  /** labels of the features the viewer may see; without it feature links are plain `feature-link`s */
  chips?: ChipMap;
  /** makes footnote ids unique when several texts share a page (e.g. `c1234-` per comment) */
  idPrefix?: string;
}

const PREFIX = 'user-content-';

const printer = unified()
  // trust: false keeps \href{javascript:…}, \url, \includegraphics and \htmlStyle inert; maxSize bounds \rule & co.
  .use(rehypeKatex, { trust: false, strict: 'ignore', maxSize: 20, maxExpand: 500, output: 'htmlAndMathml' })
  .use(rehypeStringify);

function decorate(node: HastRoot | Element, options: HtmlOptions) {
  const prefix = options.idPrefix ?? '';
  for (let i = 0; i < node.children.length; i++) {
    const child = node.children[i]!;
    if (child.type !== 'element') continue;
    const p = child.properties;
    if (prefix) {
      if (typeof p.id === 'string' && p.id.startsWith(PREFIX)) p.id = PREFIX + prefix + p.id.slice(PREFIX.length);
      if (Array.isArray(p.ariaDescribedBy)) p.ariaDescribedBy = p.ariaDescribedBy.map((v) => (String(v).startsWith(PREFIX) ? PREFIX + prefix + String(v).slice(PREFIX.length) : v));
    }
    if (child.tagName === 'a' && typeof p.href === 'string' && p.href.startsWith('#')) p.href = `#${PREFIX}${prefix}${p.href.slice(1)}`;
    const link = child.data as LinkData | undefined;
    if (child.tagName === 'a' && link?.feature) {
      node.children[i] = featureLink(child, link, options.chips);
      continue;
    }
    decorate(child, options);
  }
}

const span = (className: string, children: ElementContent[]): Element => ({ type: 'element', tagName: 'span', properties: { className: [className] }, children });
const text = (value: string): HastText => ({ type: 'text', value });

function featureLink(a: Element, link: LinkData, chips: ChipMap | undefined): Element {
  const key = addressKey(link.feature!);
  const href = a.properties.href;
  if (!chips) return { ...a, properties: { href, className: ['feature-link'] } };
  const chip = chips.get(key);
  if (!chip) return { ...a, properties: { href, className: ['feature-link', 'broken'], title: 'no such feature' } };
  const shown = link.auto ? (chip.label ? [text(chip.label)] : []) : a.children;
  return {
    type: 'element',
    tagName: 'a',
    properties: { href, className: ['feature-chip'], dataFeature: key },
    children: [span('feature-chip-id', [text(key)]), ...(shown.length ? [span('feature-chip-label', shown)] : [])],
  };
}

/** A parsed text as HTML (its tree is used up). */
export function toHtml(parsed: ParsedMarkdown, options: HtmlOptions = {}): string {
  if (parsed.tree.children.length === 0) return '';
  decorate(parsed.tree, options);
  return printer.stringify(printer.runSync(parsed.tree) as HastRoot);
}

/** Sanitised HTML for user markdown (feature links as plain links; server/feature-links.ts renders chips). */
export function renderMarkdown(markdown: string, options: HtmlOptions & { hosts?: readonly string[] } = {}): string {
  if (markdown.trim() === '') return '';
  return toHtml(parseMarkdown(markdown, options.hosts), options);
}

/** `s` cut to at most `max` characters, an ellipsis marking the cut. */
export const clip = (s: string, max: number) => (s.length > max ? `${s.slice(0, max - 1).trimEnd()}…` : s);

/** The text of some markdown without its markup, cut to about `max` characters (for snippets). */
export function plainText(markdown: string, max = 200): string {
  const { tree } = parseMarkdown(markdown);
  return clip(tree.children.map(textOf).join(' ').replace(/\s+/g, ' ').trim(), max);
}

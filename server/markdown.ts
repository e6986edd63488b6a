/**
 * Markdown from users (feature descriptions, comments, hypotheses) to HTML, on the server, with the unified family:
 * remark-parse + GFM (tables, footnotes, autolinks) + remark-math, remark-rehype (raw HTML in the source is dropped,
 * never passed through), then rehype-sanitize with GitHub's schema (no scripts, no event handlers, no style, no
 * javascript:/data: URLs, ids prefixed). Only then do our own trusted steps run on the safe tree: feature links
 * become chips (or broken links), @handles of the accounts the caller names become `a.mention` links, and maths is
 * typeset by KaTeX (with `trust: false`, so \href, \url, \includegraphics and \html* stay inert). The result is
 * safe to put into a page as HTML.
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
import { formatFeatureAddress, MAX_FEATURE_INDEX, SLUG_PATTERN as SLUG, type FeatureAddress, userHref } from './addresses';

/** `[[stories260K/2-res/17]]` or `[[stories260K/2-res/17|the quote feature]]`: a stable feature address. */
export const FEATURE_LINK = new RegExp(`\\[\\[(${SLUG})/(${SLUG})/(\\d{1,10})(?:\\|([^\\]\\n]{1,200}))?\\]\\]`, 'g');
/** `/stories260K/2-res/17` standing alone in text (not inside a longer path or a URL). */
const BARE_PATH = new RegExp(`(?<![\\w/.:@-])/(${SLUG})/(${SLUG})/(\\d{1,10})(?![\\w/])`, 'g');
const FEATURE_PATH = new RegExp(`^/(${SLUG})/(${SLUG})/(\\d{1,10})/?(?:[?#].*)?$`);
/** `@name`: not inside a word or an email address (the user lookup is in server/comments.ts). */
const MENTION = /(?<![\w@.+-])@([A-Za-z0-9](?:[A-Za-z0-9._-]{0,62}[A-Za-z0-9_])?)/g;

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
  return index <= MAX_FEATURE_INDEX ? { model: m[1]!, sae: m[2]!, index } : null;
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

// ---------------------------------------------------------------------------------------------------------------
// Bounds: what a text may ask of the parser and of KaTeX. Deep nesting overflows the stack of the recursive tree
// walkers (2.5 KB of `>` did), and some shapes cost the parser quadratic time (4,000 nested quotes: 10 s), a table's
// rows are padded to its header's width (10 KB rendered to 5 MB), and nested `\sqrt`s cost KaTeX seconds. So a cheap
// scan of the source refuses those shapes before anything parses it, and the parsed tree and each formula are
// measured before anything renders them. Writes are refused with the message; texts stored before the bounds
// existed render as a placeholder (renderStored's callers).

export const MARKDOWN_LIMITS = {
  /** quotes and list items inside each other */
  nesting: 16,
  /** `[` (and, separately, `(`) open at once within one paragraph */
  brackets: 32,
  /** consecutive `*`, `_` and `~` characters */
  delimiterRun: 64,
  /** emphasis delimiters (runs of one of `*`, `_`, `~`) in the whole text */
  delimiters: 1000,
  /** `[` in the whole text (links, references, footnotes) */
  links: 1000,
  lines: 2000,
  /** quote and list markers of all lines together */
  containers: 2000,
  /** `===` and `---` lines (setext headings: each costs the parser a look back over the text) */
  underlines: 50,
  tableColumns: 64,
  /** table cells in the whole text (columns × rows, the way the table pads its rows) */
  tableCells: 10_000,
  /** elements inside each other once parsed */
  treeDepth: 64,
  /** characters of one formula */
  formulaChars: 1000,
  /** braces, \left…\right and \begin…\end inside each other in one formula */
  formulaNesting: 8,
  /** \sqrt, \frac and their kin in one formula */
  formulaRoots: 24,
  /** array and matrix cells (`&` and `\\`) in one formula */
  formulaCells: 100,
  formulas: 100,
  /** characters of all formulas of a text together */
  mathChars: 5_000,
  /** backticks (code spans) in the whole text */
  backticks: 1000,
  /** the rendered HTML */
  htmlChars: 1_500_000,
} as const;

/** A text over one of the bounds; its message says which, for the writer. */
export class MarkdownRefused extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MarkdownRefused';
  }
}

const L = MARKDOWN_LIMITS;
const refuse = (message: string): never => {
  throw new MarkdownRefused(message);
};

const THEMATIC_BREAK = /^[ \t]*([-*_])(?:[ \t]*\1){2,}[ \t]*$/;
const TABLE_DELIMITER_ROW = /^\|?[ \t]*:?-+:?[ \t]*(?:\|[ \t]*:?-+:?[ \t]*)*\|?[ \t]*$/;

/** Container markers (`>`, list bullets and numbers) opening a line, and the indentation before them, as levels. */
function lineNesting(line: string): { depth: number; rest: string } {
  let i = 0;
  let columns = 0;
  while (i < line.length && (line[i] === ' ' || line[i] === '\t')) columns += line[i++] === '\t' ? 4 : 1;
  let markers = 0;
  for (;;) {
    while (i < line.length && (line[i] === ' ' || line[i] === '\t')) i++;
    const c = line[i];
    if (c === '>') {
      markers++;
      i++;
      continue;
    }
    const next = line[i + 1];
    if ((c === '-' || c === '+' || c === '*') && (next === undefined || next === ' ' || next === '\t')) {
      markers++;
      i++;
      continue;
    }
    const number = /^\d{1,9}[.)](?=[ \t]|$)/.exec(line.slice(i, i + 11));
    if (number) {
      markers++;
      i += number[0].length;
      continue;
    }
    break;
  }
  // indentation nests lists only under a marker: count it for lines that start one
  return { depth: markers + (markers > 0 ? Math.floor(columns / 2) : 0), rest: line.slice(i) };
}

/**
 * Refuses (MarkdownRefused) markdown whose shape would make parsing or rendering it expensive: nesting of quotes and
 * lists, brackets, emphasis delimiters and table sizes. Linear in the text; runs before any parse.
 */
export function checkMarkdown(markdown: string): void {
  const lines = markdown.split('\n');
  if (lines.length > L.lines) refuse(`more than ${L.lines.toLocaleString('en')} lines`);
  let cells = 0;
  let table: { columns: number } | null = null;
  let containers = 0;
  let underlines = 0;
  let brackets = 0;
  let parens = 0;
  let links = 0;
  let delimiters = 0;
  let backticks = 0;
  for (const raw of lines) {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    const breakLine = THEMATIC_BREAK.test(line);
    const { depth, rest } = breakLine ? { depth: 0, rest: '' } : lineNesting(line);
    if (depth > L.nesting) refuse(`nesting deeper than ${L.nesting} levels (quotes and lists inside each other)`);
    containers += depth;
    if (containers > L.containers) refuse(`more than ${L.containers.toLocaleString('en')} quote and list markers`);
    if (breakLine || /^[ \t]*(?:=+|-+)[ \t]*$/.test(rest)) {
      if (++underlines > L.underlines) refuse(`more than ${L.underlines} heading underlines or rules (=== or ---)`);
    }
    if (!breakLine && rest.trim() === '') {
      // links and emphasis do not cross paragraphs; tables end at a blank line
      table = null;
      brackets = parens = 0;
      continue;
    }
    if (!breakLine) {
      if (table) {
        cells += table.columns;
      } else if (rest.includes('-') && rest.includes('|') && TABLE_DELIMITER_ROW.test(rest.trim())) {
        const columns = rest.trim().replace(/^\|/, '').replace(/\|$/, '').split('|').length;
        if (columns > L.tableColumns) refuse(`a table wider than ${L.tableColumns} columns`);
        table = { columns };
        cells += 2 * columns;
      }
      if (cells > L.tableCells) refuse(`tables with more than ${L.tableCells.toLocaleString('en')} cells`);
    }
    let run = 0;
    let last = '';
    for (let i = 0; i < line.length; i++) {
      const c = line[i]!;
      if (c === '*' || c === '_' || c === '~') {
        if (c !== last) delimiters++;
        last = c;
        if (++run > L.delimiterRun) refuse(`a run of more than ${L.delimiterRun} emphasis characters (*, _ or ~)`);
        continue;
      }
      run = 0;
      last = '';
      if (c === '\\') i++;
      else if (c === '`') {
        if (++backticks > L.backticks) refuse(`more than ${L.backticks.toLocaleString('en')} backticks (\`)`);
      } else if (c === '[') {
        brackets++;
        links++;
      } else if (c === ']') brackets = Math.max(0, brackets - 1);
      else if (c === '(') parens++;
      else if (c === ')') parens = Math.max(0, parens - 1);
      if (brackets > L.brackets || parens > L.brackets) refuse(`brackets nested deeper than ${L.brackets} levels`);
    }
    if (delimiters > L.delimiters) refuse(`more than ${L.delimiters.toLocaleString('en')} emphasis marks (*, _ or ~)`);
    if (links > L.links) refuse(`more than ${L.links.toLocaleString('en')} links or brackets ([)`);
  }
}

/** Refuses a formula that would cost KaTeX too much: too long, nested too deep, too many roots and fractions. */
export function checkFormula(tex: string): void {
  if (tex.length > L.formulaChars) refuse(`a formula longer than ${L.formulaChars.toLocaleString('en')} characters`);
  let depth = 0;
  let deepest = 0;
  for (let i = 0; i < tex.length; i++) {
    const c = tex[i];
    if (c === '\\') {
      const name = /^\\([A-Za-z]+)/.exec(tex.slice(i, i + 12));
      if (name) {
        if (name[1] === 'left' || name[1] === 'begin') depth++;
        else if (name[1] === 'right' || name[1] === 'end') depth = Math.max(0, depth - 1);
        i += name[0].length - 1;
      } else {
        i++; // an escaped character: \{ \} \\ …
      }
    } else if (c === '{') {
      depth++;
    } else if (c === '}') {
      depth = Math.max(0, depth - 1);
    }
    deepest = Math.max(deepest, depth);
  }
  if (deepest > L.formulaNesting + 1)
    refuse(`a formula nested deeper than ${L.formulaNesting} levels (braces, \\left…\\right, \\begin…\\end)`);
  const roots = tex.match(/\\(?:sqrt|[dtc]?frac|[dt]?binom|over|atop|choose|brace|brack|overset|underset|stackrel|xleftarrow|xrightarrow)(?![A-Za-z])/g)?.length ?? 0;
  if (roots > L.formulaRoots) refuse(`a formula with more than ${L.formulaRoots} roots and fractions`);
  const cells = tex.match(/&|\\\\/g)?.length ?? 0;
  if (cells > L.formulaCells) refuse(`a formula with more than ${L.formulaCells} cells (& or \\\\)`);
}

/** Refuses a parsed text nested too deep, or with too many or too much maths (iteratively: no recursion). */
function checkTree(tree: Root): void {
  let formulas = 0;
  let mathChars = 0;
  const stack: [Root | Root['children'][number], number][] = [[tree, 0]];
  while (stack.length) {
    const [node, depth] = stack.pop()!;
    if (depth > L.treeDepth) refuse(`nesting deeper than ${L.treeDepth} levels`);
    if (node.type === 'math' || node.type === 'inlineMath') {
      formulas++;
      mathChars += node.value.length;
      if (formulas > L.formulas) refuse(`more than ${L.formulas} formulas`);
      if (mathChars > L.mathChars) refuse(`more than ${L.mathChars.toLocaleString('en')} characters of maths`);
      checkFormula(node.value);
    }
    if ('children' in node) for (const child of node.children) stack.push([child, depth + 1]);
  }
}

const mdParser = unified().use(remarkParse).use(remarkGfm).use(remarkMath);

const toSafeHast = unified()
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

/**
 * Markdown to a sanitised tree (hosts: this site's `host[:port]`s, for pasted feature URLs). Throws MarkdownRefused
 * for a text over the bounds (MARKDOWN_LIMITS), before the expensive steps.
 */
export function parseMarkdown(markdown: string, hosts: readonly string[] = []): ParsedMarkdown {
  checkMarkdown(markdown);
  const mdast = mdParser.parse(markdown);
  checkTree(mdast);
  const tree = toSafeHast.runSync(mdast) as HastRoot;
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
            const key = formatFeatureAddress(feature);
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
// Printing: feature links in a neutral form, unique ids, images as links, maths, HTML. The HTML is stored with the
// text (rendered once, when it is written); chips (which depend on the reader and on current labels) are put in at
// read time by applyChips, a pass over the stored HTML that never parses markdown.

export interface HtmlOptions {
  /** labels of the features the viewer may see; without it feature links are plain `feature-link`s */
  chips?: ChipMap;
  /** makes footnote ids unique when several texts share a page (e.g. `c1234-` per comment) */
  idPrefix?: string;
}

/** The accounts a text's @handles name: handle (lower case) → user id. */
export type MentionMap = ReadonlyMap<string, string>;

/** Options of the stored rendering: this site's hosts, the footnote id prefix, and the accounts mentions link to. */
export interface StoredOptions {
  hosts?: readonly string[];
  idPrefix?: string;
  /** @handles found here become `<a class="mention" href="/users/<id>">`; others stay plain text */
  accounts?: MentionMap;
}

const PREFIX = 'user-content-';

const printer = unified()
  // trust: false keeps \href{javascript:…}, \url, \includegraphics and \htmlStyle inert; maxSize bounds \rule & co.
  .use(rehypeKatex, { trust: false, strict: 'ignore', maxSize: 20, maxExpand: 500, output: 'htmlAndMathml' })
  .use(rehypeStringify);

const hasLink = (node: Element): boolean => node.children.some((c) => c.type === 'element' && (c.tagName === 'a' || hasLink(c)));

function decorate(node: HastRoot | Element, idPrefix: string, inLink: boolean) {
  for (let i = 0; i < node.children.length; i++) {
    const child = node.children[i]!;
    if (child.type !== 'element') continue;
    const p = child.properties;
    if (idPrefix) {
      if (typeof p.id === 'string' && p.id.startsWith(PREFIX)) p.id = PREFIX + idPrefix + p.id.slice(PREFIX.length);
      if (Array.isArray(p.ariaDescribedBy)) p.ariaDescribedBy = p.ariaDescribedBy.map((v) => (String(v).startsWith(PREFIX) ? PREFIX + idPrefix + String(v).slice(PREFIX.length) : v));
    }
    if (child.tagName === 'a' && typeof p.href === 'string' && p.href.startsWith('#')) p.href = `#${PREFIX}${idPrefix}${p.href.slice(1)}`;
    if (child.tagName === 'img') {
      // Images are never loaded from the page (an external one would tell its host who reads what): a link instead.
      node.children[i] = imageLink(child, inLink);
      continue;
    }
    const link = child.data as LinkData | undefined;
    if (child.tagName === 'a' && link?.feature && !hasLink(child)) {
      // the neutral form applyChips recognises: exactly these attributes, in this order
      child.properties = { href: p.href, className: ['feature-link'], dataFeatureLink: formatFeatureAddress(link.feature), ...(link.auto ? { dataAuto: true } : {}) };
    }
    decorate(child, idPrefix, inLink || child.tagName === 'a');
  }
}

const span = (className: string, children: ElementContent[]): Element => ({ type: 'element', tagName: 'span', properties: { className: [className] }, children });
const text = (value: string): HastText => ({ type: 'text', value });

/**
 * Links each @handle of a known account, in text outside code, maths and links (where parseMarkdown finds mentions).
 * It runs on the sanitised tree, like the feature links: the sanitiser lets no class through from user markup, so
 * `a.mention` is always ours.
 */
function linkMentions(node: HastRoot | Element, accounts: MentionMap) {
  for (let i = 0; i < node.children.length; i++) {
    const child = node.children[i]!;
    if (child.type === 'element') {
      if (child.tagName !== 'a' && child.tagName !== 'code' && child.tagName !== 'pre') linkMentions(child, accounts);
      continue;
    }
    if (child.type !== 'text') continue;
    const parts: ElementContent[] = [];
    let last = 0;
    for (const m of child.value.matchAll(MENTION)) {
      const id = accounts.get(m[1]!.toLowerCase());
      if (id === undefined) continue;
      if (m.index > last) parts.push(text(child.value.slice(last, m.index)));
      parts.push({ type: 'element', tagName: 'a', properties: { href: userHref(id), className: ['mention'] }, children: [text(m[0])] });
      last = m.index + m[0].length;
    }
    if (parts.length === 0) continue;
    if (last < child.value.length) parts.push(text(child.value.slice(last)));
    node.children.splice(i, 1, ...(parts as typeof node.children));
    i += parts.length - 1;
  }
}

function imageLink(img: Element, inLink: boolean): Element {
  const src = typeof img.properties.src === 'string' ? img.properties.src : '';
  const alt = typeof img.properties.alt === 'string' ? img.properties.alt.trim() : '';
  const shown = [text(`image: ${alt || src || 'no description'}`)];
  if (inLink || !src) return span('image-link', shown);
  return { type: 'element', tagName: 'a', properties: { href: src, className: ['image-link'], rel: ['nofollow', 'noopener', 'noreferrer'] }, children: shown };
}

/** The rendered form of a text, as stored: HTML with feature links in the neutral form, and what it links to. */
export interface StoredRendering {
  html: string;
  features: FeatureAddress[];
  mentions: string[];
}

/** Renders a parsed text (its tree is used up); throws MarkdownRefused when the HTML is too large. */
function printStored(parsed: ParsedMarkdown, idPrefix = '', accounts?: MentionMap): string {
  if (parsed.tree.children.length === 0) return '';
  if (accounts?.size) linkMentions(parsed.tree, accounts);
  decorate(parsed.tree, idPrefix, false);
  const html = printer.stringify(printer.runSync(parsed.tree) as HastRoot);
  if (html.length > L.htmlChars) refuse(`it renders to more than ${(L.htmlChars / 1e6).toLocaleString('en')} million characters of HTML`);
  return html;
}

/** How many texts were rendered from markdown in this process (tests check that reads render nothing). */
export const renderCount = { value: 0 };

/**
 * Markdown to the HTML stored beside it (sanitised, maths typeset, feature links neutral: see applyChips), with its
 * feature links and mentions. Throws MarkdownRefused for a text over the bounds, with a message for its writer.
 */
export function renderStored(markdown: string, options: StoredOptions = {}): StoredRendering {
  if (markdown.trim() === '') return { html: '', features: [], mentions: [] };
  renderCount.value++;
  const parsed = parseMarkdown(markdown, options.hosts);
  return { html: printStored(parsed, options.idPrefix, options.accounts), features: parsed.features, mentions: parsed.mentions };
}

const escapeText = (s: string) => s.replace(/&/g, '&#x26;').replace(/</g, '&#x3C;');

/** What a reader sees instead of a text that cannot be rendered (over the bounds, stored before they existed). */
export function renderPlaceholder(what: string, err: unknown): string {
  const why = err instanceof MarkdownRefused ? err.message : 'it could not be rendered';
  return `<p class="render-refused"><em>This ${escapeText(what)} could not be shown (${escapeText(why)}).</em></p>`;
}

/** renderStored, but never throwing: a text that cannot be rendered gets the placeholder (for stored texts). */
export function renderStoredOrPlaceholder(markdown: string, what: string, options: StoredOptions = {}): StoredRendering {
  try {
    return renderStored(markdown, options);
  } catch (err) {
    if (!(err instanceof MarkdownRefused)) console.error(`rendering a ${what} failed:`, err);
    return { html: renderPlaceholder(what, err), features: [], mentions: [] };
  }
}

/** A neutral feature link of stored HTML (decorate writes exactly this; user markup can carry no class or data-*). */
const NEUTRAL_LINK = /<a href="([^"]*)" class="feature-link" data-feature-link="([^"]+)"( data-auto(?:="")?)?>([\s\S]*?)<\/a>/g;
const NEUTRAL_KEY = /<a href="[^"]*" class="feature-link" data-feature-link="([^"]+)"/g;

/** The features the stored HTML links to (each once), for resolving their chips. */
export function featuresInHtml(html: string): FeatureAddress[] {
  const found = new Map<string, FeatureAddress>();
  for (const m of html.matchAll(NEUTRAL_KEY)) {
    const [model, sae, index] = m[1]!.split('/');
    if (model && sae && index) found.set(m[1]!, { model, sae, index: Number(index) });
  }
  return [...found.values()];
}

/**
 * Stored HTML as a reader sees it: each feature link becomes a chip with the feature's current label when the reader
 * may see it (in `chips`), a broken link when not, or a plain feature link without a map. A pass of one regular
 * expression over our own markup.
 */
export function applyChips(html: string, chips?: ChipMap): string {
  if (!html.includes('data-feature-link=')) return html;
  return html.replace(NEUTRAL_LINK, (_all, href: string, key: string, auto: string | undefined, inner: string) => {
    if (!chips) return `<a href="${href}" class="feature-link">${inner}</a>`;
    const chip = chips.get(key);
    if (!chip) return `<a href="${href}" class="feature-link broken" title="no such feature">${inner}</a>`;
    const shown = auto ? (chip.label ? escapeText(chip.label) : '') : inner;
    const label = shown ? `<span class="feature-chip-label">${shown}</span>` : '';
    return `<a href="${href}" class="feature-chip" data-feature="${key}"><span class="feature-chip-id">${key}</span>${label}</a>`;
  });
}

/** A parsed text as HTML (its tree is used up), with chips from the map (see applyChips). */
export function toHtml(parsed: ParsedMarkdown, options: HtmlOptions = {}): string {
  return applyChips(printStored(parsed, options.idPrefix), options.chips);
}

/** Sanitised HTML for user markdown (feature links plain without a chip map). Throws MarkdownRefused over the bounds. */
export function renderMarkdown(markdown: string, options: HtmlOptions & { hosts?: readonly string[] } = {}): string {
  return applyChips(renderStored(markdown, options).html, options.chips);
}

/** `s` cut to at most `max` characters, an ellipsis marking the cut. */
export const clip = (s: string, max: number) => (s.length > max ? `${s.slice(0, max - 1).trimEnd()}…` : s);

/** The text of some markdown without its markup, cut to about `max` characters (for snippets). */
export function plainText(markdown: string, max = 200): string {
  // a bounded prefix: snippets are read on every page that lists texts
  const prefix = markdown.slice(0, Math.max(4 * max, 400));
  let shown: string;
  try {
    shown = parseMarkdown(prefix).tree.children.map(textOf).join(' ');
  } catch {
    shown = prefix.replace(/[#>*_~`[\]()|$\\-]+/g, ' ');
  }
  return clip(shown.replace(/\s+/g, ' ').trim(), max);
}

/**
 * Markdown from users (feature descriptions; later discussions) to HTML, on the server, with the unified family:
 * remark-parse + GFM, remark-rehype (raw HTML in the source is dropped, never passed through), then rehype-sanitize
 * with GitHub's schema (no scripts, no event handlers, no javascript: URLs, ids prefixed), then rehype-stringify.
 * The result is safe to put into a page as HTML. Feature links `[[model/sae/index]]` resolve to the feature page.
 */
import type { Link, Parent, PhrasingContent, Root, Text } from 'mdast';
import rehypeSanitize, { defaultSchema, type Options as SanitizeSchema } from 'rehype-sanitize';
import rehypeStringify from 'rehype-stringify';
import remarkGfm from 'remark-gfm';
import remarkParse from 'remark-parse';
import remarkRehype from 'remark-rehype';
import { unified } from 'unified';

/** `[[stories260K/2-res/17]]`: a stable feature address (model/sae/index). */
export const FEATURE_LINK = /\[\[([A-Za-z0-9][A-Za-z0-9._-]*)\/([A-Za-z0-9][A-Za-z0-9._-]*)\/(\d+)\]\]/g;

/** A remark plugin turning feature addresses in text (not in code) into links to their pages. */
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
  const parts: PhrasingContent[] = [];
  let last = 0;
  for (const match of text.matchAll(FEATURE_LINK)) {
    const [whole, model, sae, index] = match;
    if (match.index! > last) parts.push({ type: 'text', value: text.slice(last, match.index) });
    const link: Link = {
      type: 'link',
      url: `/${model}/${sae}/${index}`,
      data: { hProperties: { className: ['feature-link'] } },
      children: [{ type: 'text', value: `${model}/${sae}/${index}` }],
    };
    parts.push(link);
    last = match.index! + whole.length;
  }
  if (parts.length === 0) return null;
  if (last < text.length) parts.push({ type: 'text', value: text.slice(last) });
  return parts;
}

const schema: SanitizeSchema = {
  ...defaultSchema,
  attributes: {
    ...defaultSchema.attributes,
    // feature links carry a class for styling; nothing else gains attributes
    a: [
      ...(defaultSchema.attributes?.a ?? []).filter((a) => !(Array.isArray(a) && a[0] === 'className')),
      ['className', 'data-footnote-backref', 'feature-link'],
    ],
  },
};

const processor = unified()
  .use(remarkParse)
  .use(remarkGfm)
  .use(remarkFeatureLinks)
  .use(remarkRehype)
  .use(rehypeSanitize, schema)
  .use(rehypeStringify);

/** Sanitised HTML for user markdown. */
export function renderMarkdown(markdown: string): string {
  if (markdown.trim() === '') return '';
  return String(processor.processSync(markdown));
}

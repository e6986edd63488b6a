/**
 * How things are addressed: a feature as `model/sae/index` (in text, wiki links and page URLs), an SAE as
 * `model/sae`, the slugs in them, and the URLs of their pages (links on pages and in notifications). Plain code,
 * so client components use it too; the zod inputs routers take addresses as are in ./address-inputs (building a zod
 * object schema probes `new Function`, which the pages' Content-Security-Policy refuses and reports).
 */

/** A model or SAE slug: letters, digits, '.', '_' and '-', not starting with punctuation. */
export const SLUG_PATTERN = '[A-Za-z0-9][A-Za-z0-9._-]*';
export const SLUG = new RegExp(`^${SLUG_PATTERN}$`);
/**
 * First path segments that are the site's own pages (app/*) and the REST API's own routes (/api/v1/jobs/…): a model
 * slugged so would have its pages shadowed by them, so registering one is refused. tests/unit/addresses.test.ts keeps
 * this list in step with app/ and the API's routes.
 */
export const RESERVED_MODEL_SLUGS: ReadonlySet<string> = new Set([
  'admin', 'api', 'changes', 'hypotheses', 'lists', 'notifications', 'search', 'signin', 'signup', 'teams', 'users',
  'jobs', 'models', 'openapi.json',
]);

/** Feature indices are PostgreSQL integers. */
export const MAX_FEATURE_INDEX = 2 ** 31 - 1;

export interface SaeAddress {
  model: string;
  sae: string;
}

export interface FeatureAddress extends SaeAddress {
  index: number;
}

const FEATURE_ADDRESS = new RegExp(`^(${SLUG_PATTERN})/(${SLUG_PATTERN})/(\\d{1,9})$`);
const SAE_ADDRESS = new RegExp(`^(${SLUG_PATTERN})/(${SLUG_PATTERN})$`);

/**
 * `model/sae/index`, also as a wiki link `[[model/sae/index]]` or a page URL (`https://host/model/sae/index`);
 * undefined when the text is not one.
 */
export function parseFeatureAddress(text: string): FeatureAddress | undefined {
  let t = text.trim();
  const link = /^\[\[(.+)\]\]$/.exec(t);
  if (link) t = link[1]!.trim();
  t = t.replace(/^https?:\/\/[^/]+\//, '').replace(/^\//, '').replace(/[?#].*$/, '').replace(/\/$/, '');
  const match = FEATURE_ADDRESS.exec(t);
  if (!match) return undefined;
  return { model: match[1]!, sae: match[2]!, index: Number(match[3]) };
}

/** `model/sae`; undefined when the text is not one. */
export function parseSaeAddress(text: string): SaeAddress | undefined {
  const match = SAE_ADDRESS.exec(text.trim());
  return match ? { model: match[1]!, sae: match[2]! } : undefined;
}

export const formatSaeAddress = (a: SaeAddress) => `${a.model}/${a.sae}`;
export const formatFeatureAddress = (a: FeatureAddress) => `${a.model}/${a.sae}/${a.index}`;

export const modelHref = (model: string) => `/${encodeURIComponent(model)}`;
export const saeHref = (a: SaeAddress) => `${modelHref(a.model)}/${encodeURIComponent(a.sae)}`;
export const featureHref = (a: FeatureAddress) => `${saeHref(a)}/${a.index}`;
export const featureHistoryHref = (a: FeatureAddress) => `${featureHref(a)}/history`;
export const hypothesisHref = (id: string) => `/hypotheses/${id}`;
export const userHref = (id: string) => `/users/${encodeURIComponent(id)}`;

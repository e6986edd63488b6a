/**
 * The automatic explainer's endpoint: an OpenAI-compatible chat completions server (a local vLLM or llama.cpp
 * server, or a hosted one) with the model to ask, its API key and how many requests a minute it allows. An admin sets
 * it on /admin/explainer (stored in site_setting); without that, the environment's LEXICON_EXPLAINER_URL, _MODEL and
 * _KEY (and _RPM) apply. The key never leaves the server: pages see whether it is set.
 */
import { eq } from 'drizzle-orm';
import { z } from 'zod';
import { siteSettings } from '@/drizzle/schema';
import type { Db } from '../db';

const KEY = 'explainer';
export const DEFAULT_REQUESTS_PER_MINUTE = 60;

export const explainerInput = z.object({
  baseUrl: z
    .string()
    .trim()
    .url('the base URL is not a URL (e.g. http://127.0.0.1:8000/v1)')
    .refine((u) => /^https?:\/\//.test(u), 'the base URL must start with http:// or https://'),
  model: z.string().trim().min(1, 'name the model to ask').max(200),
  /** absent: keep the stored key; '' removes it */
  apiKey: z.string().max(1000).optional(),
  requestsPerMinute: z.number().int().min(1).max(10_000).default(DEFAULT_REQUESTS_PER_MINUTE),
});

export interface ExplainerEndpoint {
  /** where `/chat/completions` is, e.g. http://127.0.0.1:8000/v1 (a trailing /v1 is added when missing) */
  baseUrl: string;
  model: string;
  apiKey: string;
  requestsPerMinute: number;
}

/** What pages see: no key, only whether there is one, and where the settings come from. */
export interface ExplainerStatus {
  configured: boolean;
  source: 'settings' | 'environment' | null;
  baseUrl: string | null;
  model: string | null;
  keySet: boolean;
  requestsPerMinute: number | null;
}

/** What to set when nothing is configured, as panels say it. */
export const EXPLAINER_NOT_CONFIGURED =
  'No explainer endpoint is configured: an admin sets its base URL, model and API key on /admin/explainer, or the server is started with LEXICON_EXPLAINER_URL, LEXICON_EXPLAINER_MODEL and LEXICON_EXPLAINER_KEY.';

function fromEnvironment(): ExplainerEndpoint | null {
  const baseUrl = process.env.LEXICON_EXPLAINER_URL?.trim();
  const model = process.env.LEXICON_EXPLAINER_MODEL?.trim();
  if (!baseUrl || !model) return null;
  const rpm = Number(process.env.LEXICON_EXPLAINER_RPM);
  return { baseUrl, model, apiKey: process.env.LEXICON_EXPLAINER_KEY ?? '', requestsPerMinute: rpm > 0 ? rpm : DEFAULT_REQUESTS_PER_MINUTE };
}

async function stored(db: Db): Promise<ExplainerEndpoint | null> {
  const [row] = await db.select({ value: siteSettings.value }).from(siteSettings).where(eq(siteSettings.key, KEY));
  return (row?.value as ExplainerEndpoint | undefined) ?? null;
}

/** The endpoint the worker asks (with its key): the admin's settings, else the environment's; null when neither. */
export async function explainerEndpoint(db: Db): Promise<(ExplainerEndpoint & { source: 'settings' | 'environment' }) | null> {
  const settings = await stored(db);
  if (settings) return { ...settings, source: 'settings' };
  const env = fromEnvironment();
  return env && { ...env, source: 'environment' };
}

export async function explainerStatus(db: Db): Promise<ExplainerStatus> {
  const endpoint = await explainerEndpoint(db);
  if (!endpoint) return { configured: false, source: null, baseUrl: null, model: null, keySet: false, requestsPerMinute: null };
  return {
    configured: true,
    source: endpoint.source,
    baseUrl: endpoint.baseUrl,
    model: endpoint.model,
    keySet: endpoint.apiKey !== '',
    requestsPerMinute: endpoint.requestsPerMinute,
  };
}

/** Stores the admin's settings (authorised by the caller); an absent key keeps the stored one. */
export async function setExplainer(db: Db, input: z.input<typeof explainerInput>, adminId: string): Promise<ExplainerStatus> {
  const parsed = explainerInput.parse(input);
  const previous = await stored(db);
  const value: ExplainerEndpoint = {
    baseUrl: parsed.baseUrl,
    model: parsed.model,
    apiKey: parsed.apiKey ?? previous?.apiKey ?? '',
    requestsPerMinute: parsed.requestsPerMinute,
  };
  await db
    .insert(siteSettings)
    .values({ key: KEY, value, updatedBy: adminId })
    .onConflictDoUpdate({ target: siteSettings.key, set: { value, updatedBy: adminId, updatedAt: new Date() } });
  return explainerStatus(db);
}

/** Removes the admin's settings (the environment's apply again, when there are any). */
export async function clearExplainer(db: Db): Promise<ExplainerStatus> {
  await db.delete(siteSettings).where(eq(siteSettings.key, KEY));
  return explainerStatus(db);
}

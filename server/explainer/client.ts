/**
 * A client of an OpenAI-compatible chat completions endpoint (POST {base}/v1/chat/completions) that keeps to the
 * configured requests per minute and, on HTTP 429, waits as Retry-After says (or backs off, doubling) and tries again.
 */
import type { ExplainerEndpoint } from './settings';

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

export interface ChatClientOptions {
  signal?: AbortSignal;
  /** told before each wait on a 429 (seconds), e.g. to report it as progress */
  onRateLimited?: (seconds: number) => Promise<void>;
  /** 429s in a row before giving up */
  maxRetries?: number;
  /** how long one request may take */
  timeoutMs?: number;
}

const MAX_BACKOFF_S = 60;

/** `{base}/chat/completions` for a base ending in /v1, else `{base}/v1/chat/completions`. */
export function completionsUrl(baseUrl: string): string {
  const base = baseUrl.replace(/\/+$/, '');
  return /\/v1$/.test(base) ? `${base}/chat/completions` : `${base}/v1/chat/completions`;
}

/** Seconds a Retry-After header asks for (a number of seconds or an HTTP date); null when absent or unreadable. */
export function retryAfterSeconds(header: string | null, now = Date.now()): number | null {
  if (!header) return null;
  const seconds = Number(header);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds;
  const date = Date.parse(header);
  return Number.isNaN(date) ? null : Math.max(0, (date - now) / 1000);
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

export class ChatClient {
  private nextAt = 0;
  private readonly url: string;
  private readonly intervalMs: number;

  constructor(
    private readonly endpoint: ExplainerEndpoint,
    private readonly options: ChatClientOptions = {},
  ) {
    this.url = completionsUrl(endpoint.baseUrl);
    this.intervalMs = 60_000 / endpoint.requestsPerMinute;
  }

  /** The assistant's answer to the messages (temperature 0); throws naming the endpoint's problem. */
  async complete(messages: ChatMessage[], maxTokens = 300): Promise<string> {
    const { signal, onRateLimited, maxRetries = 5, timeoutMs = 120_000 } = this.options;
    for (let attempt = 0; ; attempt++) {
      await sleep(Math.max(0, this.nextAt - Date.now()), signal);
      this.nextAt = Date.now() + this.intervalMs;
      const response = await fetch(this.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(this.endpoint.apiKey ? { authorization: `Bearer ${this.endpoint.apiKey}` } : {}) },
        body: JSON.stringify({ model: this.endpoint.model, messages, temperature: 0, max_tokens: maxTokens }),
        signal: signal ? AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)]) : AbortSignal.timeout(timeoutMs),
      });
      const body = await response.text();
      if (response.status === 429 && attempt < maxRetries) {
        const seconds = Math.min(MAX_BACKOFF_S, retryAfterSeconds(response.headers.get('retry-after')) ?? 2 ** attempt);
        await onRateLimited?.(seconds);
        await sleep(seconds * 1000, signal);
        continue;
      }
      if (!response.ok) throw new Error(`the endpoint answered HTTP ${response.status}: ${body.slice(0, 200).trim() || response.statusText}`);
      let content: unknown;
      try {
        content = (JSON.parse(body) as { choices?: { message?: { content?: unknown } }[] }).choices?.[0]?.message?.content;
      } catch {
        content = undefined;
      }
      if (typeof content !== 'string') throw new Error(`the endpoint's answer is not a chat completion: ${body.slice(0, 200)}`);
      return content;
    }
  }
}

/**
 * A client of an OpenAI-compatible chat completions endpoint (POST {base}/v1/chat/completions) that keeps to the
 * configured requests per minute, shared with every other client of that endpoint and model (pace.ts), and, on HTTP
 * 429, holds them all off as Retry-After says (or backs off, doubling) and tries again.
 */
import type { Db } from '../db';
import { Pace } from './pace';
import type { ExplainerEndpoint } from './settings';

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

export interface ChatClientOptions {
  signal?: AbortSignal;
  /** told of each wait on a 429 (seconds) once every client of the endpoint holds off, e.g. to report it as progress */
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

export class ChatClient {
  private readonly url: string;
  private readonly pace: Pace;

  constructor(
    db: Db,
    private readonly endpoint: ExplainerEndpoint,
    private readonly options: ChatClientOptions = {},
  ) {
    this.url = completionsUrl(endpoint.baseUrl);
    this.pace = new Pace(db, `${this.url} ${endpoint.model}`, endpoint.requestsPerMinute);
  }

  /** The assistant's answer to the messages (temperature 0); throws naming the endpoint's problem. */
  async complete(messages: ChatMessage[], maxTokens = 300): Promise<string> {
    const { signal, onRateLimited, maxRetries = 5, timeoutMs = 120_000 } = this.options;
    for (let attempt = 0; ; attempt++) {
      await this.pace.wait(signal);
      const response = await fetch(this.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(this.endpoint.apiKey ? { authorization: `Bearer ${this.endpoint.apiKey}` } : {}) },
        body: JSON.stringify({ model: this.endpoint.model, messages, temperature: 0, max_tokens: maxTokens }),
        signal: signal ? AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)]) : AbortSignal.timeout(timeoutMs),
      });
      const body = await response.text();
      if (response.status === 429 && attempt < maxRetries) {
        const seconds = Math.min(MAX_BACKOFF_S, retryAfterSeconds(response.headers.get('retry-after')) ?? 2 ** attempt);
        await this.pace.holdOff(seconds); // every client's next turn waits it out, this one's too
        await onRateLimited?.(seconds);
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

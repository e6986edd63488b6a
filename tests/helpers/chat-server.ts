/**
 * A tiny OpenAI-compatible chat completions server on 127.0.0.1 (a random port) for the explainer's tests. It answers
 * deterministically: an explanation prompt gets `the token "X"`, X the text most often marked <<X>> in it (ties: the
 * first in sort order); a detection prompt gets, per excerpt, whether `detect` says so (default: 1 when the excerpt
 * contains X). Queued faults answer the next requests instead: a 429 with Retry-After, a body that is no JSON, an
 * empty answer, an HTTP 500.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export type Fault = '429' | 'not-json' | 'empty' | '500';

export interface ChatRequest {
  model: string;
  messages: { role: string; content: string }[];
  authorization: string | undefined;
  kind: 'explanation' | 'detection';
  /** what it answered (a fault: its name) */
  answer: string;
  /** when it arrived (Date.now()) */
  at: number;
}

export interface FakeChatServer {
  /** the base URL to configure, e.g. http://127.0.0.1:41234/v1 */
  url: string;
  requests: ChatRequest[];
  /** answers the next requests with these faults, one each */
  faults: Fault[];
  /** the detection rule: for each excerpt's text, whether it fits the label */
  detect: (label: string, excerpt: string) => boolean;
  close(): Promise<void>;
}

/** The label the server gives for an explanation prompt (tests use it to know what to expect). */
export function fakeLabel(prompt: string): string {
  const counts = new Map<string, number>();
  for (const [, span] of prompt.matchAll(/<<(.+?)>>/g)) counts.set(span!.trim(), (counts.get(span!.trim()) ?? 0) + 1);
  const [best] = [...counts].sort(([a, n], [b, m]) => m - n || (a < b ? -1 : a > b ? 1 : 0));
  return `the token "${best?.[0] ?? 'nothing'}"`;
}

const byLabelToken = (label: string, excerpt: string) => {
  const token = /"(.*)"/.exec(label)?.[1];
  return token !== undefined && excerpt.includes(token);
};

export async function startChatServer(): Promise<FakeChatServer> {
  const state: Omit<FakeChatServer, 'url' | 'close'> = { requests: [], faults: [], detect: byLabelToken };
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      if (req.method !== 'POST' || req.url !== '/v1/chat/completions') {
        res.writeHead(404).end(JSON.stringify({ error: `no route ${req.method} ${req.url}` }));
        return;
      }
      const { model, messages } = JSON.parse(body) as { model: string; messages: ChatRequest['messages'] };
      const user = messages.find((m) => m.role === 'user')?.content ?? '';
      const kind = user.startsWith('Explanation:') ? 'detection' : 'explanation';
      const record = (answer: string) => state.requests.push({ model, messages, authorization: req.headers.authorization, kind, answer, at: Date.now() });
      const fault = state.faults.shift();
      if (fault === '429') {
        record(fault);
        res.writeHead(429, { 'retry-after': '1', 'content-type': 'application/json' }).end(JSON.stringify({ error: 'rate limited' }));
        return;
      }
      if (fault === '500' || fault === 'not-json') {
        record(fault);
        res.writeHead(fault === '500' ? 500 : 200).end(fault === '500' ? 'the model crashed' : 'this is not JSON');
        return;
      }
      let content = '';
      if (fault === 'empty') content = '';
      else if (kind === 'explanation') content = fakeLabel(user);
      else {
        const label = /^Explanation: (.*)$/m.exec(user)![1]!;
        const excerpts = [...user.matchAll(/^Excerpt \d+: (.*)$/gm)].map((m) => m[1]!);
        content = JSON.stringify(excerpts.map((e) => (state.detect(label, e) ? 1 : 0)));
      }
      record(fault ?? content);
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ choices: [{ index: 0, message: { role: 'assistant', content } }] }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return Object.assign(state, {
    url: `http://127.0.0.1:${port}/v1`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  });
}

/**
 * What the benchmarks share to talk to a running Lexicon as a browser does (a cookie jar, tRPC over HTTP, sign-up and
 * sign-in through next-auth's credentials callback) and to run one (`next build` into a directory of its own, `next
 * start` on 127.0.0.1 against a given database).
 */
import { spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { freePort } from '@/server/postgres';
import { forkWebProcesses } from '../web-processes';

const ROOT = path.resolve(import.meta.dirname, '../..');

/** A minimal cookie jar: name → value, from Set-Cookie headers. */
export class Cookies {
  private readonly jar = new Map<string, string>();

  take(res: Response): void {
    for (const header of res.headers.getSetCookie()) {
      const [pair] = header.split(';');
      const at = pair!.indexOf('=');
      const [name, value] = [pair!.slice(0, at).trim(), pair!.slice(at + 1).trim()];
      if (value === '' || /max-age=0|expires=thu, 01 jan 1970/i.test(header)) this.jar.delete(name);
      else this.jar.set(name, value);
    }
  }

  header(): string {
    return [...this.jar].map(([n, v]) => `${n}=${v}`).join('; ');
  }

  names(): string[] {
    return [...this.jar.keys()];
  }
}

/** tRPC's answer as an error: the HTTP status and its message (a refusal is an answer, not a failure of the bench). */
export class HttpError extends Error {
  constructor(
    readonly proc: string,
    readonly status: number,
    readonly detail: string,
  ) {
    super(`${proc}: HTTP ${status} ${detail}`);
  }
}

export class Client {
  readonly cookies = new Cookies();

  constructor(
    readonly base: string,
    private readonly timeoutMs = 30_000,
  ) {}

  async fetch(url: string, init: RequestInit = {}): Promise<Response> {
    const headers = new Headers(init.headers);
    if (this.cookies.header()) headers.set('cookie', this.cookies.header());
    // as a browser sends it with every POST (mutations may check it)
    if (init.method && init.method !== 'GET' && !headers.has('origin')) headers.set('origin', this.base);
    const res = await fetch(this.base + url, { ...init, headers, redirect: 'manual', signal: init.signal ?? AbortSignal.timeout(this.timeoutMs) });
    this.cookies.take(res);
    return res;
  }

  /** a tRPC mutation over HTTP (superjson: the input goes as {"json": input}) */
  async mutation<T>(proc: string, input: unknown): Promise<T> {
    const res = await this.fetch(`/api/trpc/${proc}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ json: input }),
    });
    return unwrap<T>(proc, res);
  }

  async query<T>(proc: string, input: unknown): Promise<T> {
    const res = await this.fetch(`/api/trpc/${proc}?input=${encodeURIComponent(JSON.stringify({ json: input }))}`);
    return unwrap<T>(proc, res);
  }
}

export async function unwrap<T>(proc: string, res: Response): Promise<T> {
  const text = await res.text();
  let body: { result?: { data: { json: T } }; error?: { json?: { message?: string } } } | undefined;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON: a proxy's or the platform's own answer (413, 429, 431…)
  }
  if (!res.ok || !body?.result) throw new HttpError(proc, res.status, body?.error?.json?.message ?? text.slice(0, 200));
  return body.result.data.json;
}

/** Signs in through next-auth's credentials callback; returns the session's user, or throws with what was answered. */
export async function signIn(client: Client, email: string, password: string): Promise<{ id: string; role: string }> {
  const csrfRes = await client.fetch('/api/auth/csrf');
  const { csrfToken } = (await csrfRes.json()) as { csrfToken: string };
  const res = await client.fetch('/api/auth/callback/credentials', {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ csrfToken, email, password, callbackUrl: '/' }),
  });
  const session = (await (await client.fetch('/api/auth/session')).json()) as { user?: { id: string; role: string } } | null;
  if (!session?.user?.id) {
    throw new Error(`sign-in failed: callback HTTP ${res.status} (${res.headers.get('location')}), cookies ${client.cookies.names().join(', ')}`);
  }
  return session.user;
}

/** Signs up through tRPC (auth.signUp) and in; returns the session's user. */
export async function signUpAndIn(client: Client, account: { name: string; email: string; password: string }): Promise<{ id: string; role: string }> {
  await client.mutation('auth.signUp', account);
  return signIn(client, account.email, account.password);
}

/** `next build` into `distDir` (next.config.mjs reads LEXICON_NEXT_DIST_DIR), apart from the .next of `npm start`. */
export function buildWebApp(distDir: string): void {
  const build = spawnSync(path.join(ROOT, 'node_modules/.bin/next'), ['build'], {
    cwd: ROOT,
    stdio: 'ignore',
    env: { ...process.env, LEXICON_NEXT_DIST_DIR: distDir, NEXT_TELEMETRY_DISABLED: '1' },
  });
  if (build.status !== 0) throw new Error(`next build failed: run \`LEXICON_NEXT_DIST_DIR=${distDir} npx next build\` to see why`);
}

export interface NextServer {
  url: string;
  /** the `next start` processes (several share the port when asked for) */
  processes: ChildProcess[];
  stop(): Promise<void>;
}

/**
 * `next start` of the build in `distDir` on 127.0.0.1 (a free port) against `databaseUrl`, in `processes` processes as
 * `npm start` runs them (scripts/web-processes.ts), once /api/health answers.
 */
export async function startNext(options: {
  distDir: string;
  databaseUrl: string;
  processes?: number;
  nodeArgs?: string[];
  env?: NodeJS.ProcessEnv;
  /** where their output goes (appended); else their stderr is ours and their stdout dropped */
  logFile?: string;
}): Promise<NextServer> {
  if (!fs.existsSync(path.join(ROOT, options.distDir, 'BUILD_ID'))) throw new Error(`no build in ${options.distDir}`);
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const processes = forkWebProcesses({
    count: options.processes ?? 1,
    port,
    host: '127.0.0.1',
    nodeArgs: options.nodeArgs,
    silent: true,
    env: {
      LEXICON_NEXT_DIST_DIR: options.distDir,
      NODE_ENV: 'production',
      NEXT_TELEMETRY_DISABLED: '1',
      DATABASE_URL: options.databaseUrl,
      AUTH_SECRET: randomBytes(32).toString('base64url'),
      AUTH_TRUST_HOST: 'true',
      ...options.env,
    },
  });
  const log = options.logFile ? fs.createWriteStream(options.logFile, { flags: 'a' }) : undefined;
  for (const child of processes) {
    if (log) child.stdout!.pipe(log, { end: false });
    else child.stdout!.resume();
    child.stderr!.pipe(log ?? process.stderr, { end: false });
  }
  const running = () => processes.filter((c) => c.exitCode === null && c.signalCode === null);
  const stop = async () => {
    await Promise.all(
      running().map(async (child) => {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      }),
    );
  };
  for (let i = 0; ; i++) {
    const exited = processes.find((c) => c.exitCode !== null);
    if (exited) {
      await stop();
      throw new Error(`next start exited with ${exited.exitCode}`);
    }
    const ok = await fetch(`${url}/api/health`).then((r) => r.status < 500, () => false);
    if (ok) break;
    if (i > 120) {
      await stop();
      throw new Error('next start did not answer in 60 s');
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  return { url, processes, stop };
}

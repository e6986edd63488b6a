/** A real compute worker process (`tsx worker/main.ts`) against the test database. */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export interface TestWorker {
  process: ChildProcess;
  output(): string;
  stop(signal?: NodeJS.Signals): Promise<void>;
}

/** `env` adds to (or overrides) this process's environment, e.g. a data dir or LEXICON_WORKER_TIMEOUT_S. */
/** `concurrency` > 1: the supervising process with that many worker processes (ready when all of them are). */
export async function startWorker(databaseUrl: string, env: Record<string, string> = {}, { concurrency = 1 } = {}): Promise<TestWorker> {
  // node itself (not the tsx wrapper, which runs node as a child): the process's pid is the worker's, so a signal
  // (a test's SIGKILL) reaches the worker and not just a wrapper
  const child = spawn(process.execPath, ['--import', 'tsx', 'worker/main.ts', '--concurrency', String(concurrency)], {
    cwd: ROOT,
    env: { ...process.env, ...env, DATABASE_URL: databaseUrl },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`worker did not start:\n${output}`)), 60_000);
    child.stdout!.on('data', () => {
      if (output.split(' ready (').length > concurrency) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code) => reject(new Error(`worker exited with ${code}:\n${output}`)));
  });
  return {
    process: child,
    output: () => output,
    stop: (signal = 'SIGTERM') =>
      new Promise((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill(signal);
      }),
  };
}

export async function waitFor<T>(probe: () => Promise<T | undefined>, what: string, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

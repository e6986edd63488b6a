/**
 * `npm start`'s own behaviour (issue 15, "Setting up"), as a person at a terminal sees it: scripts/start.ts in a child
 * process of its own process group, its output read. `--dev` (next dev), so that no web build is needed.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from '@/server/postgres';

const root = path.resolve(import.meta.dirname, '../..');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'lexicon-start-test-'));
fs.chmodSync(tmp, 0o755);
const started: ChildProcess[] = [];
afterAll(() => {
  for (const child of started) if (child.exitCode === null && child.signalCode === null) process.kill(-child.pid!, 'SIGKILL');
  fs.rmSync(tmp, { recursive: true, force: true });
});

function start(dataDir: string, port: number, args: string[] = []) {
  const env: NodeJS.ProcessEnv = { ...process.env, LEXICON_DATA_DIR: dataDir, LEXICON_MODELS_DIR: path.join(tmp, 'no-models'), LEXICON_DEMO: '0', PORT: String(port) };
  delete env.DATABASE_URL;
  delete env.AUTH_SECRET;
  // detached: a process group of its own, as a terminal gives `npm start`
  const child = spawn(path.join(root, 'node_modules/.bin/tsx'), ['scripts/start.ts', ...args], { cwd: root, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  started.push(child);
  let output = '';
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, output: () => output, exited };
}

async function waitFor(what: string, check: () => boolean, ms: number, output: () => string) {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`no ${what} within ${ms / 1000} s; output:\n${output()}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** PostgreSQL processes serving `dataDir` (their command line names it) */
function postgresOn(dataDir: string): string[] {
  const ps = spawnSync('ps', ['-eo', 'pid,args'], { encoding: 'utf8' }).stdout;
  return ps.split('\n').filter((l) => l.includes(`-D ${path.join(dataDir, 'pg')}`));
}

describe('npm start', () => {
  it('stops cleanly and quietly on a Ctrl-C to its whole process group, PostgreSQL last', async () => {
    const dataDir = path.join(tmp, 'ctrl-c');
    const port = await freePort();
    const s = start(dataDir, port, ['--dev']);
    await waitFor('worker', () => /\[worker\] .* ready/.test(s.output()), 150_000, s.output);
    await waitFor('web server', () => /Ready in/.test(s.output()), 60_000, s.output);
    expect(fs.existsSync(path.join(dataDir, 'pg-url'))).toBe(true);
    process.kill(-s.child.pid!, 'SIGINT'); // what a Ctrl-C in the terminal does
    const code = await Promise.race([s.exited, new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 60_000))]);
    const out = s.output();
    expect(code, out).toBe(0);
    expect(out).toMatch(/\[lexicon\] stopped\s*$/);
    // nothing lost its database connection under its feet
    expect(out).not.toMatch(/terminating connection|idle client error|\[queue\]|ECONNREFUSED|Error:/);
    expect(fs.existsSync(path.join(dataDir, 'pg-url'))).toBe(false);
    expect(postgresOn(dataDir)).toEqual([]);
    // each phase timed on its own; no telemetry notice; the backend named once
    expect(out).toMatch(/\[lexicon\] database ready \(embedded\) \(\d+\.\d s\)/);
    expect(out).toMatch(/\[lexicon\] migrations applied \(\d+\.\d s\)/);
    expect(out).toMatch(/\[lexicon\] models from .*: none \(\d+\.\d s\)/);
    expect(out).not.toMatch(/telemetry/i);
    expect(out.match(/wasm|tensorflow|\bcpu\b/g)?.length ?? 0).toBeLessThanOrEqual(1);
  });

  it.runIf(os.userInfo().uid === 0)('run as root with the data dir under a directory postgres cannot enter: says what to do, no stack trace', async () => {
    const closed = path.join(tmp, 'closed');
    fs.mkdirSync(closed, { mode: 0o700 });
    fs.chmodSync(closed, 0o700);
    const s = start(path.join(closed, 'data'), await freePort());
    expect(await s.exited).toBe(1);
    const out = s.output();
    expect(out).toContain(`cannot enter ${closed} (mode 700)`);
    expect(out).toMatch(/LEXICON_DATA_DIR/);
    expect(out).not.toMatch(/^\s+at /m);
    expect(fs.existsSync(path.join(closed, 'data', 'pg', 'PG_VERSION'))).toBe(false);
  });
});

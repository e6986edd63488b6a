/**
 * `npm start`: the whole of Lexicon from one command. PostgreSQL (embedded unless DATABASE_URL
 * is set), migrations, models found on disk, the Next.js server and one compute worker.
 * Ctrl-C / SIGTERM stops the children, then PostgreSQL, cleanly.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import fs from 'node:fs';
import path from 'node:path';
import { config } from '@/server/config';
import { getDb, getPool } from '@/server/db';
import { demoWanted, enqueueDemo } from '@/server/demo';
import { startQueue } from '@/server/jobs/queue';
import { runMigrations } from '@/server/migrate';
import { openDatabase, type RunningPostgres } from '@/server/postgres';
import { registerModelsIn } from '@/server/register-models';
import { acquireBuildLock } from './build-lock';

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

let stopping = false;
const children: ChildProcess[] = [];
/** PostgreSQL, once asked for: a signal before it is up still waits for it, then stops it */
let opening: Promise<RunningPostgres> | undefined;
process.on('SIGINT', () => void stop(0));
process.on('SIGTERM', () => void stop(0));

fs.mkdirSync(config.dataDir, { recursive: true });
const started = Date.now();
opening = openDatabase({ dataDir: config.dataDir, port: config.pgPort });
const pg = await opening;
console.log(`[lexicon] database ready${process.env.DATABASE_URL ? '' : ' (embedded)'}`);
process.env.DATABASE_URL = pg.url;
await runMigrations(pg.url);

fs.mkdirSync(config.modelsDir, { recursive: true });
const registered = await registerModelsIn(getDb(), config.modelsDir);
console.log(`[lexicon] models from ${config.modelsDir}: ${registered.map((m) => m.slug).join(', ') || 'none'}`);
// A fresh database gets the stories260K demo workspace; the worker started below runs it (LEXICON_DEMO=0: not).
if (await demoWanted(getDb())) {
  const boss = await startQueue(pg.url);
  const { job } = await enqueueDemo(boss, getDb());
  await boss.stop({ graceful: false });
  console.log(`[lexicon] no SAEs yet: setting up the stories260K demo (job ${job.id}); the home page shows its progress`);
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
  for (const entry of ['app', 'server', 'drizzle', 'next.config.mjs', 'package-lock.json', 'tsconfig.json']) visit(path.join(root, entry));
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
  const lock = await acquireBuildLock(path.join(root, '.next-build.lock'), { log: (line) => console.log(`[lexicon] ${line}`) });
  try {
    if (!built()) {
      console.log('[lexicon] building the web app (sources changed since the last build)…');
      building = spawn(bin('next'), ['build'], { cwd: root, stdio: 'inherit' });
      const [code, signal] = (await once(building, 'exit')) as [number | null, NodeJS.Signals | null];
      building = undefined;
      if (code !== 0) {
        lock.release();
        if (!stopping) {
          console.error(`[lexicon] the web app build failed (${signal ?? `exit ${code}`})`);
          await stop(code ?? 1);
        }
        await new Promise(() => undefined); // stop() exits
      }
      fs.writeFileSync(stampFile, stamp);
    }
  } finally {
    lock.release();
  }
}

if (stopping) await new Promise(() => undefined); // a signal came during the build: stop() exits
const env = { ...process.env, DATABASE_URL: pg.url, AUTH_SECRET: authSecret(), PORT: String(config.port) };
children.push(
  spawn(bin('next'), [dev ? 'dev' : 'start', '-p', String(config.port)], { cwd: root, env, stdio: 'inherit' }),
  spawn(bin('tsx'), ['workers/main.ts'], { cwd: root, env, stdio: 'inherit' }),
);
console.log(`[lexicon] http://localhost:${config.port} (ready in a moment; database and models took ${((Date.now() - started) / 1000).toFixed(1)} s)`);

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
  console.log('[lexicon] stopped');
  process.exit(code);
}
for (const child of children) child.on('exit', (code) => void stop(code ?? 1));

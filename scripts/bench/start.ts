/**
 * `npm run bench:start`: how fast `npm start` comes up, and how long one run takes through the UI's HTTP path.
 * Prints figures; not a test. Talks only to 127.0.0.1; every server it starts is stopped (SIGTERM) and checked gone.
 *
 *   npm run bench:start [-- --runs 20] [--with-demo] [--signal start|tsx|npm]
 *
 * (a) cold start: `npm start` with a fresh LEXICON_DATA_DIR (temp dir) to the first 200 from GET /api/health. If the
 *     web build is missing or stale (scripts/start.ts rebuilds when sources changed), that first start is reported as
 *     "first start ever (with build)" and a second cold start on another fresh data dir as "cold start, build present".
 * (b) warm start: `npm start` again on the data dir of (a).
 * (c) on that server: sign up (tRPC auth.signUp), sign in (next-auth credentials), then N runs of a prompt of exactly 64
 *     tokens (BOS included) on stories260K: POST job.run, poll job.get every 25 ms; enqueue→result latency, split into
 *     queued (createdAt→startedAt) and running (startedAt→finishedAt) from the job row.
 * Each server is stopped with SIGTERM (by default to the process running scripts/start.ts; --signal tsx: to the tsx
 * command above it, npm: to npm): the bench checks it exits with 0 and leaves no PostgreSQL on its data dir.
 * Models: LEXICON_MODELS_DIR, else LEXICON_SHARED_DIR/models, else ../shared/models. The demo workspace that a fresh
 * database enqueues is turned off (LEXICON_DEMO=0) so the worker is idle for the runs; --with-demo keeps it.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from '@/server/postgres';
import { Client, signUpAndIn } from './http';
import { flag, integer, option } from './options';
import { loadLlama2cTokenizer } from '@/compute/tokenizer/llama2c';

const root = path.resolve(import.meta.dirname, '../..');
const RUNS = integer('runs', 20);
const WITH_DEMO = flag('with-demo');
/** which process gets the SIGTERM: the one running scripts/start.ts (default), the tsx command above it, or npm */
const SIGNAL = option('signal', 'start') as 'start' | 'tsx' | 'npm';
if (!['start', 'tsx', 'npm'].includes(SIGNAL)) throw new Error(`--signal must be start, tsx or npm, got ${SIGNAL}`);
const POLL_MS = 25;
const PROMPT_TOKENS = 64;
const MODEL = 'stories260K';
const START_TIMEOUT_MS = 15 * 60_000; // a first start may build the web app (minutes on 2 cores)
const STOP_TIMEOUT_MS = 45_000;
const RUN_TIMEOUT_MS = 60_000;

const sharedDir = process.env.LEXICON_SHARED_DIR ?? path.resolve(root, '../shared');
const modelsDir = path.resolve(process.env.LEXICON_MODELS_DIR ?? path.join(sharedDir, 'models'));

function log(line: string) {
  console.error(`[bench] ${line}`);
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

// ---- one `npm start` ---------------------------------------------------------------------------------------------

interface Server {
  port: number;
  dataDir: string;
  /** everything it printed, kept after the bench (the data dirs are removed) */
  logFile: string;
  child: ChildProcess;
  output: string[];
  /** which process the stop signal went to */
  signalled?: string;
  /** ms since spawn at which a log line matching each pattern first appeared */
  marks: Map<string, number>;
  spawnedAt: number;
}

const MARKS: Record<string, RegExp> = {
  database: /\[lexicon\] database ready/,
  models: /\[lexicon\] models from/,
  build: /\[lexicon\] building the web app/,
  spawned: /\[lexicon\] web server and worker starting/,
  next: /Ready in|✓ Ready/,
  worker: /\[worker\] .* ready/,
};

let serverCount = 0;

async function startServer(dataDir: string): Promise<Server> {
  const port = await freePort();
  const logFile = path.join(os.tmpdir(), `lexicon-bench-start-${process.pid}-${++serverCount}.log`);
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    LEXICON_DATA_DIR: dataDir,
    LEXICON_MODELS_DIR: modelsDir,
    PORT: String(port),
    ...(WITH_DEMO ? {} : { LEXICON_DEMO: '0' }),
  };
  delete env.DATABASE_URL; // the embedded PostgreSQL, as a fresh install runs it
  delete env.AUTH_SECRET;
  // its own process group, so that nothing it starts can outlive a failed bench (see kill below)
  const child = spawn('npm', ['start'], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  const server: Server = { port, dataDir, logFile, child, output: [], marks: new Map(), spawnedAt: performance.now() };
  fs.writeFileSync(logFile, '');
  const onData = (chunk: Buffer) => {
    fs.appendFileSync(logFile, chunk);
    for (const line of chunk.toString().split('\n')) {
      if (!line.trim()) continue;
      server.output.push(line);
      for (const [mark, pattern] of Object.entries(MARKS)) {
        if (!server.marks.has(mark) && pattern.test(line)) server.marks.set(mark, performance.now() - server.spawnedAt);
      }
    }
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  return server;
}

/**
 * Starts a server and waits for its first 200. Others edit this working tree meanwhile: a start that rebuilds the web
 * app in the middle of someone's change may fail to build; it is retried (up to 3 times, a minute apart) and reported.
 */
async function startHealthy(dataDir: string, servers: Server[], failures: string[]): Promise<{ server: Server; healthMs: number }> {
  for (let attempt = 1; ; attempt++) {
    const server = await startServer(dataDir);
    servers.push(server);
    try {
      return { server, healthMs: await waitHealthy(server) };
    } catch (err) {
      const reason = (err as Error).message.split('\n')[0];
      failures.push(`${reason} (log ${server.logFile})`);
      log(`  start failed: ${reason}; log ${server.logFile}`);
      if (server.child.exitCode === null) await stopServer(server);
      if (attempt === 3) throw err;
      await sleep(60_000);
    }
  }
}

/** ms from spawn to the first 200 from /api/health */
async function waitHealthy(server: Server): Promise<number> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  for (;;) {
    if (server.child.exitCode !== null) {
      const built = server.marks.has('build') ? ' (it was building the web app)' : '';
      throw new Error(`npm start exited with ${server.child.exitCode} before /api/health answered${built}:\n${tail(server)}`);
    }
    try {
      const res = await fetch(`http://127.0.0.1:${server.port}/api/health`, { signal: AbortSignal.timeout(2_000) });
      if (res.status === 200) return performance.now() - server.spawnedAt;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`no 200 from /api/health within ${START_TIMEOUT_MS / 1000} s:\n${tail(server)}`);
    await sleep(50);
  }
}

/** ms from spawn until /api/health reports a worker (the compute worker has registered) */
async function waitWorker(server: Server): Promise<number> {
  const deadline = Date.now() + 120_000;
  for (;;) {
    const health = (await (await fetch(`http://127.0.0.1:${server.port}/api/health`)).json()) as { worker: unknown };
    if (health.worker && server.marks.has('worker')) return server.marks.get('worker')!;
    if (Date.now() > deadline) throw new Error(`no worker within 120 s:\n${tail(server)}`);
    await sleep(50);
  }
}

interface StopReport {
  exitCode: number | null;
  signal: string | null;
  ms: number;
  /** PostgreSQL processes still running on the data dir after the exit */
  postgresLeft: string[];
  /** any process of the server's process group still alive */
  groupLeft: boolean;
  stoppedLine: boolean;
  signalled: string;
}

/** SIGTERM to `npm start` (which forwards it), then: exit status, time, and leftovers. */
async function stopServer(server: Server): Promise<StopReport> {
  const started = performance.now();
  const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) => {
    if (server.child.exitCode !== null) resolve({ code: server.child.exitCode, signal: null });
    server.child.once('exit', (code, signal) => resolve({ code, signal }));
  });
  // SIGTERM to the process running scripts/start.ts, as `kill <pid>` or a service manager would send it. (npm itself
  // dies of a SIGTERM without waiting for its script, so signalling npm would orphan the servers.)
  const target = SIGNAL === 'npm' ? undefined : startScriptPid(server, SIGNAL);
  if (target) process.kill(target, 'SIGTERM');
  else {
    if (SIGNAL !== 'npm') log(`  (no ${SIGNAL} process of scripts/start.ts found in group ${server.child.pid}: SIGTERM to npm)`);
    server.child.kill('SIGTERM');
  }
  server.signalled = target ? `${SIGNAL} pid ${target}` : `npm pid ${server.child.pid}`;
  const result = await Promise.race([exited, sleep(STOP_TIMEOUT_MS).then(() => undefined)]);
  const ms = performance.now() - started;
  // let the last children finish exiting before looking for leftovers
  let postgresLeft = postgresOn(server.dataDir);
  for (let i = 0; i < 20 && (postgresLeft.length || groupAlive(server)); i++) {
    await sleep(100);
    postgresLeft = postgresOn(server.dataDir);
  }
  const report: StopReport = {
    exitCode: result?.code ?? null,
    signal: result?.signal ?? (result ? null : 'timeout'),
    ms,
    postgresLeft,
    groupLeft: groupAlive(server),
    stoppedLine: server.output.some((l) => l.includes('[lexicon] stopped')),
    signalled: server.signalled ?? '?',
  };
  if (!result || report.groupLeft || postgresLeft.length) {
    // Clean up what this bench started: its process group, and PostgreSQL on its own data dir.
    try {
      process.kill(-server.child.pid!, 'SIGKILL');
    } catch {
      // already gone
    }
    for (const line of postgresLeft) {
      const pid = Number(line.trim().split(/\s+/)[0]);
      if (pid) spawnSync('kill', ['-TERM', String(pid)]);
    }
  }
  return report;
}

/**
 * The node process that runs scripts/start.ts (under npm → tsx), found in the server's process group: tsx's loader
 * process, which runs the script, or (`which` = 'tsx') the tsx command above it, which relays signals to it.
 */
function startScriptPid(server: Server, which: 'start' | 'tsx'): number | undefined {
  const ps = spawnSync('ps', ['-eo', 'pid=,pgid=,args='], { encoding: 'utf8' });
  const mine = ps.stdout
    .split('\n')
    .map((line) => line.trim().split(/\s+/))
    .filter(([, pgid, ...args]) => Number(pgid) === server.child.pid && args.join(' ').includes('scripts/start.ts'));
  // tsx's loader process runs the script; its parent, the tsx command, would relay the signal to it
  const loader = mine.find(([, , ...args]) => args.join(' ').includes('loader.mjs'));
  const tsx = mine.find(([, , cmd, ...args]) => /node$/.test(cmd) && args.some((a) => a.endsWith('/tsx')));
  return Number((which === 'tsx' ? tsx : loader)?.[0]) || undefined;
}

function groupAlive(server: Server): boolean {
  try {
    process.kill(-server.child.pid!, 0);
    return true;
  } catch {
    return false;
  }
}

/** `pid args` of postgres processes whose command line names this data dir */
function postgresOn(dataDir: string): string[] {
  const ps = spawnSync('ps', ['-eo', 'pid,args'], { encoding: 'utf8' });
  return ps.stdout.split('\n').filter((line) => line.includes(dataDir) && /postgres/.test(line));
}

function tail(server: Server, lines = 30): string {
  return server.output.slice(-lines).join('\n');
}

function freshDataDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lexicon-bench-start-'));
  // PostgreSQL runs as user `postgres` when we are root: it must be able to enter the directory
  fs.chmodSync(dir, 0o755);
  return dir;
}

// ---- HTTP as the UI does it --------------------------------------------------------------------------------------

/** Signs up a fresh account through the UI's HTTP path and signs in; returns "email (role)". */
async function signUpAndInFresh(client: Client): Promise<string> {
  const email = `bench-${Date.now()}@example.org`;
  const user = await signUpAndIn(client, { name: 'Bench', email, password: 'bench password 123' });
  return `${email} (${user.role})`;
}

/** A text that the llama2.c tokenizer turns into exactly `count` tokens with BOS. */
async function promptOf(count: number): Promise<string> {
  const tokenizer = await loadLlama2cTokenizer(path.join(modelsDir, MODEL, 'tok512.bin'));
  const words = 'Once upon a time there was a little girl named Lily who loved to play in the big green park with her dog'.split(' ');
  const length = (text: string) => tokenizer.encode(text, { bos: true }).length;
  let text = '';
  for (let i = 0; length(text) < count; i++) {
    const word = words[i % words.length];
    const next = text ? `${text} ${word}` : word;
    // a word that would overshoot is replaced by single letters, each one token
    text = length(next) <= count ? next : `${text} a`;
  }
  if (length(text) !== count) throw new Error(`could not build a ${count}-token prompt (got ${length(text)})`);
  return text;
}

interface JobView {
  id: string;
  status: string;
  error: string | null;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  result: { tokens?: number[] } | null;
}

interface RunTiming {
  total: number;
  queued: number;
  running: number;
  /** the rest: HTTP, the enqueue transaction, and noticing the result by polling */
  other: number;
  /** the job.run POST alone (session check, enqueue transaction, response) */
  enqueue: number;
  polls: number;
}

async function timedRun(client: Client, text: string): Promise<RunTiming & { tokens: number }> {
  const started = performance.now();
  const { id } = await client.mutation<{ id: string }>('job.run', { model: MODEL, input: { text }, top: 5, generate: 0 });
  const enqueue = performance.now() - started;
  let polls = 0;
  for (;;) {
    polls++;
    const job = await client.query<JobView>('job.get', { id });
    if (job.status === 'done' || job.status === 'failed') {
      const total = performance.now() - started;
      if (job.status === 'failed') throw new Error(`job ${id} failed: ${job.error}`);
      const created = Date.parse(job.createdAt);
      const startedAt = Date.parse(job.startedAt!);
      const finished = Date.parse(job.finishedAt!);
      const queued = startedAt - created;
      const running = finished - startedAt;
      return { total, queued, running, other: total - queued - running, enqueue, polls, tokens: job.result?.tokens?.length ?? -1 };
    }
    if (performance.now() - started > RUN_TIMEOUT_MS) throw new Error(`job ${id} not done after ${RUN_TIMEOUT_MS / 1000} s (status ${job.status})`);
    await sleep(POLL_MS);
  }
}

// ---- figures -----------------------------------------------------------------------------------------------------

function quantile(xs: number[], q: number): number {
  const sorted = [...xs].sort((a, b) => a - b);
  const at = (sorted.length - 1) * q;
  const lo = Math.floor(at);
  return sorted[lo] + (sorted[Math.ceil(at)] - sorted[lo]) * (at - lo);
}

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i])).join(' | ')} |`;
  return [line(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.map(line)].join('\n');
}

interface StartFigures {
  label: string;
  healthMs: number;
  built: boolean;
  marks: Map<string, number>;
  workerMs?: number;
  stop?: StopReport;
}

function phases(marks: Map<string, number>): string {
  const order = ['database', 'models', 'build', 'spawned', 'next', 'worker'];
  return order.filter((m) => marks.has(m)).map((m) => `${m} ${seconds(marks.get(m)!)}`).join(', ');
}

function stopLine(stop: StopReport): string {
  const clean = stop.exitCode === 0 && stop.postgresLeft.length === 0 && !stop.groupLeft;
  return (
    `${clean ? 'clean' : 'NOT CLEAN'}: exit ${stop.exitCode ?? stop.signal} after ${seconds(stop.ms)}, SIGTERM to ${stop.signalled}, ` +
    `"[lexicon] stopped" ${stop.stoppedLine ? 'printed' : 'missing'}, ` +
    `postgres on the data dir: ${stop.postgresLeft.length ? stop.postgresLeft.join(' / ') : 'none'}, ` +
    `processes of its group left: ${stop.groupLeft ? 'yes' : 'none'}`
  );
}

// ---- main --------------------------------------------------------------------------------------------------------

if (!fs.existsSync(path.join(modelsDir, MODEL, 'tok512.bin'))) throw new Error(`${modelsDir}/${MODEL} not found (set LEXICON_MODELS_DIR or LEXICON_SHARED_DIR)`);
const prompt = await promptOf(PROMPT_TOKENS);
const starts: StartFigures[] = [];
const dataDirs: string[] = [];
const servers: Server[] = [];
const failures: string[] = [];
// a failure or Ctrl-C must not leave servers behind
const cleanUp = async () => {
  for (const server of servers) if (server.child.exitCode === null) await stopServer(server);
  for (const dir of dataDirs) fs.rmSync(dir, { recursive: true, force: true });
};
process.once('SIGINT', () => void cleanUp().then(() => process.exit(130)));

let runs: (RunTiming & { tokens: number })[] = [];
let account = '';
try {
  // (a) cold start; a build on the first one means it is counted as "first start ever" and the cold start repeated
  let coldDir = freshDataDir();
  dataDirs.push(coldDir);
  log(`cold start: npm start, LEXICON_DATA_DIR=${coldDir}, LEXICON_MODELS_DIR=${modelsDir}`);
  let { server, healthMs } = await startHealthy(coldDir, servers, failures);
  let built = server.marks.has('build');
  starts.push({ label: built ? 'first start ever (with build)' : 'cold start, build present', healthMs, built, marks: server.marks });
  starts.at(-1)!.stop = await stopServer(server);
  log(`  health 200 after ${seconds(healthMs)}${built ? ' (built the web app)' : ''}; stop: ${stopLine(starts.at(-1)!.stop!)}`);
  if (built) {
    coldDir = freshDataDir();
    dataDirs.push(coldDir);
    log(`cold start again with the build present: LEXICON_DATA_DIR=${coldDir}`);
    ({ server, healthMs } = await startHealthy(coldDir, servers, failures));
    built = server.marks.has('build');
    starts.push({ label: `cold start, build present${built ? ' (REBUILT: sources changed meanwhile)' : ''}`, healthMs, built, marks: server.marks });
    starts.at(-1)!.stop = await stopServer(server);
    log(`  health 200 after ${seconds(healthMs)}; stop: ${stopLine(starts.at(-1)!.stop!)}`);
  }

  // (b) warm data: the same data dir again
  log(`warm start: npm start on ${coldDir} again`);
  ({ server, healthMs } = await startHealthy(coldDir, servers, failures));
  const warm: StartFigures = { label: `warm start (same data dir)${server.marks.has('build') ? ' (REBUILT)' : ''}`, healthMs, built: server.marks.has('build'), marks: server.marks };
  starts.push(warm);
  warm.workerMs = await waitWorker(server);
  log(`  health 200 after ${seconds(healthMs)}, worker ready after ${seconds(warm.workerMs)}`);

  // (c) the UI path on the warm server
  const client = new Client(`http://127.0.0.1:${server.port}`);
  account = await signUpAndInFresh(client);
  log(`  signed up and in as ${account}; ${RUNS} runs of a ${PROMPT_TOKENS}-token prompt`);
  await timedRun(client, prompt); // warm-up: the worker loads the model on its first run
  runs = [];
  for (let i = 0; i < RUNS; i++) runs.push(await timedRun(client, prompt));
  warm.stop = await stopServer(server);
  log(`  stop: ${stopLine(warm.stop)}`);
} finally {
  await cleanUp();
}

// ---- report ------------------------------------------------------------------------------------------------------

const [load1, load5] = os.loadavg();
console.log(`\nbench:start — ${os.cpus().length} cores, load average ${load1.toFixed(2)} / ${load5.toFixed(2)} (1 / 5 min); Node ${process.version}; demo ${WITH_DEMO ? 'on' : 'off (LEXICON_DEMO=0)'}\n`);
console.log(
  table(
    ['start', 'to first 200 /api/health', 'less the build', 'phases (log line seen at)', 'SIGTERM stop'],
    starts.map((s) => [
      s.label,
      seconds(s.healthMs),
      // the build runs between the models line and the spawn line
      s.built && s.marks.has('spawned') ? seconds(s.healthMs - (s.marks.get('spawned')! - s.marks.get('build')!)) : '—',
      phases(s.marks),
      s.stop ? stopLine(s.stop).replace(/,.*$/, '') : '—',
    ]),
  ),
);
for (const s of starts) if (s.stop) console.log(`  ${s.label}: ${stopLine(s.stop)}`);
for (const f of failures) console.log(`  a start failed and was retried: ${f}`);
console.log(`  server logs: ${servers.map((s) => s.logFile).join(', ')}`);

if (runs.length) {
  const tokens = new Set(runs.map((r) => r.tokens));
  console.log(`\n${RUNS} runs through HTTP (job.run + job.get every ${POLL_MS} ms), ${MODEL}, prompt of ${[...tokens].join('/')} tokens (BOS included), top 5, no generation; signed in as ${account}\n`);
  const row = (name: string, xs: number[]) => [name, ...[0.5, 0.95, 1].map((q) => `${quantile(xs, q).toFixed(0)} ms`)];
  console.log(
    table(
      ['enqueue → result', 'p50', 'p95', 'max'],
      [
        row('total (client)', runs.map((r) => r.total)),
        row('queued (createdAt → startedAt)', runs.map((r) => r.queued)),
        row('running (startedAt → finishedAt)', runs.map((r) => r.running)),
        row('rest (HTTP, commit, poll)', runs.map((r) => r.other)),
        row('  of which the job.run POST', runs.map((r) => r.enqueue)),
      ],
    ),
  );
  const share = runs.reduce((a, r) => a + r.queued, 0) / runs.reduce((a, r) => a + r.total, 0);
  console.log(`\nqueued is ${(100 * share).toFixed(0)}% of the total; polls per run: median ${quantile(runs.map((r) => r.polls), 0.5)}`);
}

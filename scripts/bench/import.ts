/**
 * `npm run bench:import`: throughput of importing a Neuronpedia export (issue 13) into a real (embedded) PostgreSQL,
 * through the same code as `lexicon import --format neuronpedia` (server/exchange). Prints figures; not a test.
 *
 *   npm run bench:import [-- --features 24576] [--top 20] [--intervals 5] [--per-interval 5] [--context 128] [--export-dir DIR]
 *
 * Writes a synthetic export (tests/helpers/neuronpedia-export.ts) of --features features, each with --top top
 * examples and --intervals × --per-interval interval examples of --context tokens and one explanation, registers a
 * synthetic model (4096 pieces) and SAE, and imports the export in a child process, which reports the import time,
 * features per second, its CPU time (all its threads) and its peak RSS (process.resourceUsage(): the import alone,
 * not the writing of the export); PostgreSQL's CPU time over the import is read from /proc, and the load average is
 * printed (on a shared machine the wall time says more about the neighbours than the CPU times do). Then one feature
 * page is read, timed, to show the SAE is usable at once. BENCH_PROF=DIR writes the child's CPU profiles there (one
 * per thread). --export-dir DIR keeps the export in DIR and reuses it when a run with the same options wrote it: the
 * writing takes minutes, longer than the import it serves.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { saes } from '@/drizzle/schema';
import { getDb, getPool } from '@/server/db';
import { IMPORT_FORMATS } from '@/server/exchange';
import { getFeaturePage } from '@/server/feature-page';
import { runMigrations } from '@/server/migrate';
import { startEmbeddedPostgres } from '@/server/postgres';
import { writeNeuronpediaExport } from '@/tests/helpers/neuronpedia-export';
import { seedSyntheticModel } from '@/tests/helpers/synthetic';
import { integer, option } from './options';

const argv = process.argv.slice(2);

// The child: imports the export given, against the database given, and prints its figures as JSON.
if (argv[0] === '--child') {
  const [, dir, url] = argv;
  process.env.DATABASE_URL = url;
  const started = performance.now();
  const outcome = await IMPORT_FORMATS.neuronpedia.run(getDb(), { location: dir! });
  const seconds = (performance.now() - started) / 1000;
  await getPool().end();
  const { userCPUTime, systemCPUTime, maxRSS } = process.resourceUsage();
  console.log(JSON.stringify({ outcome, seconds, cpuSeconds: (userCPUTime + systemCPUTime) / 1e6, maxRssMiB: maxRSS / 1024 }));
  process.exit(0);
}

/**
 * CPU seconds PostgreSQL has spent so far: its postmaster's, its running processes', and those of the processes that
 * have ended (a closed connection's backend), which the postmaster reaped. On a shared machine these say more than the
 * wall time.
 */
function postgresCpuSeconds(dataDir: string): number {
  const ticks = (pid: number, withChildren: boolean) => {
    // the fields after the command name, which may hold spaces: state is field 3, utime 14 … cstime 17
    const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /, '').split(' ');
    const [utime, stime, cutime, cstime] = fields.slice(11, 15).map(Number);
    return utime! + stime! + (withChildren ? cutime! + cstime! : 0);
  };
  const postmaster = Number(fs.readFileSync(path.join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
  let total = ticks(postmaster, true);
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8').replace(/^.*\) /, '').split(' ');
      if (Number(stat[1]) === postmaster) total += ticks(Number(entry), false);
    } catch {
      // ended meanwhile: its time is in the postmaster's children's
    }
  }
  return total / CLOCK_TICKS;
}
/** Linux's USER_HZ, the unit of /proc/PID/stat's times */
const CLOCK_TICKS = Number(execFileSync('getconf', ['CLK_TCK']).toString());

const N_FEATURES = integer('features', 24576);
const TOP = integer('top', 20);
const INTERVALS = integer('intervals', 5, 0);
const PER_INTERVAL = integer('per-interval', 5, 0);
const CONTEXT = integer('context', 128);
const EXPORT_DIR = option('export-dir', '');

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lexicon-bench-import-'));
fs.chmodSync(dir, 0o755);
const pg = await startEmbeddedPostgres({ dir: path.join(dir, 'pg') });
try {
  await runMigrations(pg.url);
  process.env.DATABASE_URL = pg.url;
  const model = await seedSyntheticModel(getDb(), { slug: 'gpt2-bench', vocabSize: 4096, saes: [], nContexts: 1 });
  await getDb()
    .insert(saes)
    .values({
      modelId: model.id,
      slug: '6-res-jb',
      hookName: 'blocks.6.hook_resid_pre',
      architecture: 'standard',
      dIn: 768,
      dSae: N_FEATURES,
      cfg: { architecture: 'standard', d_in: 768, d_sae: N_FEATURES, hook_name: 'blocks.6.hook_resid_pre' },
      path: '/nonexistent',
      contentHash: 'bench',
    });

  let t = performance.now();
  const shape = { nFeatures: N_FEATURES, topExamples: TOP, intervals: INTERVALS, perInterval: PER_INTERVAL, contextLength: CONTEXT };
  const exportRoot = EXPORT_DIR ? path.resolve(EXPORT_DIR) : path.join(dir, 'export');
  const exportDir = path.join(exportRoot, 'gpt2-bench', '6-res-jb');
  // what the kept export was written for: another shape is written again
  const written = path.join(exportRoot, 'bench-options.json');
  const reused = EXPORT_DIR !== '' && fs.existsSync(written) && fs.readFileSync(written, 'utf8') === JSON.stringify(shape);
  if (!reused) {
    fs.rmSync(exportRoot, { recursive: true, force: true });
    await writeNeuronpediaExport(exportRoot, { modelId: 'gpt2-bench', sourceId: '6-res-jb', vocab: model.vocab, ...shape, nPrompts: 24576, featuresPerBatch: 256 });
    fs.writeFileSync(written, JSON.stringify(shape));
  }
  const bytes = execFileSync('du', ['-sb', exportDir]).toString().split('\t')[0];
  console.log(
    `export: ${N_FEATURES} features × (${TOP} top + ${INTERVALS}×${PER_INTERVAL} interval examples of ${CONTEXT} tokens) + 1 explanation each: ` +
      `${(Number(bytes) / 2 ** 20).toFixed(0)} MiB gzipped, ${reused ? `kept from an earlier run in ${exportRoot}` : `written in ${((performance.now() - t) / 1000).toFixed(1)} s`}`,
  );

  const pgCpuBefore = postgresCpuSeconds(path.join(dir, 'pg'));
  const child = execFileSync(process.execPath, [...(process.env.BENCH_PROF ? ['--cpu-prof', '--cpu-prof-dir', process.env.BENCH_PROF] : []), '--import', 'tsx', path.join(import.meta.dirname, 'import.ts'), '--child', exportDir, pg.url], {
    maxBuffer: 1 << 24,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const { outcome, seconds, cpuSeconds, maxRssMiB } = JSON.parse(child.toString().trim().split('\n').pop()!);
  const pgCpu = postgresCpuSeconds(path.join(dir, 'pg')) - pgCpuBefore;
  console.log(
    `import: ${outcome.features} features, ${outcome.examples} examples, ${outcome.explanations} explanations in ${seconds.toFixed(1)} s: ` +
      `${Math.round(outcome.features / seconds)} features/s, ${Math.round(outcome.examples / seconds)} examples/s; ` +
      `CPU seconds: ${cpuSeconds.toFixed(1)} in the importing process (all its threads), ${pgCpu.toFixed(1)} in PostgreSQL; peak RSS ${maxRssMiB.toFixed(0)} MiB; load average ${os.loadavg()[0]!.toFixed(1)}`,
  );

  t = performance.now();
  const page = await getFeaturePage(getDb(), 'gpt2-bench', '6-res-jb', Math.floor(N_FEATURES / 2));
  console.log(`first feature page after the import: ${(performance.now() - t).toFixed(0)} ms, ${page?.top.length} top examples`);
} finally {
  await getPool().end();
  await pg.stop();
  fs.rmSync(dir, { recursive: true, force: true });
}

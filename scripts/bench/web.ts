/**
 * `npm run bench:web`: the web tier at scale (issues 5 and 16). Prints figures; not a test.
 *
 *   npm run bench:web [-- --features 1000000 --saes 40 --with-examples 200000 --duration 20 --connections 32 --processes 1,2 --no-build --keep --profile DIR --page-out FILE]
 *
 * 1. Starts a fresh embedded PostgreSQL in a temp dir, applies the migrations, and fills it with COPY: one model (a
 *    GPT-2-sized vocabulary of 50257 pieces), one corpus of 128-token contexts, `--saes` SAEs with `--features`
 *    features in all (each with statistics, activation and logit histograms, quantile intervals, top/bottom logits,
 *    encoder/decoder numbers), a complete dashboard run per SAE with evals (by-position metrics, density histogram),
 *    20 top and 25 quantile-interval examples of 128 tokens (float32 activations) for `--with-examples` features
 *    spread over all SAEs, and a label (with a description and its revision) on 10% of the features. Secondary indexes are dropped during the
 *    load and rebuilt after it, then VACUUM ANALYZE.
 * 2. Reports the database size, per table and per feature (pg_total_relation_size).
 * 3. Builds the web app (unless --no-build) and runs `next start` against the database, as `npm start` does, in each
 *    `--processes` count of web processes in turn (default 1 and one per core), then measures with autocannon
 *    (`--connections` concurrent clients, `--duration` seconds each after a warm-up):
 *      - the feature page /{model}/{sae}/{index} of random features that have top examples, drawn uniformly and
 *        Zipf-like (a few hot pages, a long tail: the shape of wiki traffic), and revalidated by an anonymous reader
 *        (If-None-Match with the ETag its 200 carried: a 304, nothing rendered),
 *      - the SAE feature table page /{model}/{sae}/features with random sorts, filters and keyset cursors,
 *      - label search /search?q=WORD with words of every frequency,
 *      - the sign-in page, the cheapest page there is (the layout and a form): the floor under every other figure;
 *    and, for comparison, the bare SQL of the feature page (the statement server/feature-page.ts sends) at the same
 *    concurrency through a pool as large as the app's (10), and with one client. Then every figure as a ratio to
 *    the sign-in page's in the same run, and the requests per second of the last process count to the first's.
 * 4. Stops everything and removes the temp dir (unless --keep).
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import autocannon from 'autocannon';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { tokensToBytes } from '@/server/context-tokens';
import { runMigrations } from '@/server/migrate';
import { startEmbeddedPostgres } from '@/server/postgres';
import { seededRandom } from '@/compute/random';
import { buildWebApp, startNext, type NextServer } from './http';
import { amount, flag, integer, option } from './options';

// ---- options ----------------------------------------------------------------------------------------------------

const N_FEATURES = integer('features', 1000000);
const N_SAES = integer('saes', 40);
const WITH_EXAMPLES = integer('with-examples', 200000, 0);
const TOP_EXAMPLES = 20;
/** 5 examples in each of 5 of the 10 quantile intervals: the 25 of issue 16's size target */
const INTERVAL_EXAMPLES = { intervals: [9, 7, 5, 3, 1], each: 5 };
const CONTEXT = 128;
const N_CONTEXTS = integer('contexts', 20000);
const VOCAB = 50257;
const LABELLED_FRACTION = 0.1;
const DURATION = amount('duration', 20, { positive: true });
const WARMUP = amount('warmup', 5);
const CONNECTIONS = integer('connections', 32);
const BUILD = !flag('no-build');
/** web process counts to measure in turn (`npm start` runs one per core); the first is also measured with 1 client */
const PROCESSES = option('processes', [...new Set([1, os.availableParallelism()])].join(','))
  .split(',')
  .map(Number);
const KEEP = flag('keep');
/** `--profile DIR`: the web server writes a V8 CPU profile there when it stops (open it in Chrome's DevTools). */
const PROFILE = option('profile', '');
/** `--page-out FILE`: the feature page whose composition is reported is written there, to look into, and the
 * feature table page beside it (FILE with `.table` before its extension). */
const PAGE_OUT = option('page-out', '');
const tableFile = (file: string) => file.replace(/(\.[^./]*)?$/, '.table$1');
const MODEL = 'bench';
const PER_SAE = Math.ceil(N_FEATURES / N_SAES);
const ROOT = path.resolve(import.meta.dirname, '../..');
/** The benchmark's own build (next.config.mjs reads LEXICON_NEXT_DIST_DIR), apart from the .next of `npm start`. */
const DIST_DIR = '.next-bench';

const random = seededRandom(12345);
const randInt = (n: number) => Math.floor(random() * n);
const started = Date.now();
const elapsed = () => `${((Date.now() - started) / 1000).toFixed(0)} s`;
const log = (line: string) => console.log(`[bench:web ${elapsed()}] ${line}`);

// ---- synthetic content ------------------------------------------------------------------------------------------

/** Pseudo-words for labels and descriptions, drawn with a Zipf-like skew so that some words match thousands of pages. */
const SYLLABLES = ['ka', 'lo', 'mi', 'nu', 'pe', 'ra', 'si', 'to', 'vu', 'ze', 'bar', 'den', 'fol', 'gri', 'hux', 'jem', 'kor', 'lin', 'mox', 'nap'];
const WORDS = Array.from({ length: 3000 }, (_, i) => {
  let w = '';
  let x = i + 7;
  do {
    w += SYLLABLES[x % SYLLABLES.length];
    x = Math.floor(x / SYLLABLES.length);
  } while (x > 0);
  return w;
});
const CONCEPTS = ['detector', 'token', 'quote', 'bracket', 'number', 'name', 'verb', 'plural', 'negation', 'base64', 'code', 'story', 'ending', 'start'];
/** an element drawn with a Zipf-like skew (P(rank ≤ r) ∝ log r): a few are drawn often, most rarely */
const zipfPick = <T>(xs: readonly T[]) => xs[Math.min(xs.length - 1, Math.floor(Math.exp(random() * Math.log(xs.length)) - 1))]!;
const zipfWord = () => zipfPick(WORDS);
const labelText = () => `${CONCEPTS[randInt(CONCEPTS.length)]} ${zipfWord()}${random() < 0.5 ? ` ${zipfWord()}` : ''}`;
const bodyText = () =>
  `Fires on ${zipfWord()} and ${zipfWord()} in ${CONCEPTS[randInt(CONCEPTS.length)]} contexts; ${random() < 0.5 ? 'mostly' : 'sometimes'} ${zipfWord()} ${zipfWord()}.`;

function histogramJson(bins: number, lo: number, hi: number): string {
  const edges = Array.from({ length: bins + 1 }, (_, i) => +(lo + ((hi - lo) * i) / bins).toPrecision(6));
  const counts = Array.from({ length: bins }, (_, i) => Math.round(1000 * Math.exp(-i / 6) * (0.5 + random())));
  return JSON.stringify({ edges, counts });
}
/** A few hundred distinct histograms, reused across features (content does not matter for the timings). */
const ACT_HISTOGRAMS = Array.from({ length: 256 }, () => histogramJson(32, 0, 1 + random() * 10));
const LOGIT_HISTOGRAMS = Array.from({ length: 256 }, () => histogramJson(32, -1 - random(), 1 + random()));
const INTERVALS = Array.from({ length: 256 }, () =>
  JSON.stringify(Array.from({ length: 10 }, (_, i) => ({ lo: +(i * 0.7).toFixed(3), hi: +((i + 1) * 0.7).toFixed(3), count: randInt(5000) }))),
);
/** 128 float32 activations as PostgreSQL bytea hex: a pool of 512 patterns, each peaking somewhere. */
const ACTS = Array.from({ length: 512 }, (_, k) => {
  const acts = new Float32Array(CONTEXT);
  const peak = k % CONTEXT;
  for (let t = 0; t < CONTEXT; t++) acts[t] = Math.max(0, 5 - Math.abs(t - peak) * (0.5 + random())) * (random() < 0.7 ? 1 : 0);
  return { hex: Buffer.from(acts.buffer).toString('hex'), peak };
});

function logitsJson(sign: 1 | -1): string {
  const parts: string[] = [];
  for (let i = 0; i < 10; i++) parts.push(`{"id":${randInt(VOCAB)},"value":${(sign * (2 - i * 0.1 - random() * 0.05)).toFixed(4)}}`);
  return `[${parts.join(',')}]`;
}

// ---- COPY -------------------------------------------------------------------------------------------------------

/** Streams rows (text COPY format) made by `rows` into `table`. */
async function copyRows(client: pg.PoolClient, table: string, columns: string[], rows: () => Generator<string>): Promise<void> {
  const stream = client.query(copyFrom(`copy ${table} (${columns.join(', ')}) from stdin`));
  const gen = rows();
  const source = Readable.from(
    (function* () {
      let batch: string[] = [];
      let size = 0;
      for (const line of gen) {
        batch.push(line);
        size += line.length;
        if (size > 1 << 20) {
          yield batch.join('');
          batch = [];
          size = 0;
        }
      }
      if (batch.length) yield batch.join('');
    })(),
  );
  await pipeline(source, stream);
}

async function secondaryIndexes(client: pg.PoolClient, tables: string[]): Promise<{ name: string; def: string }[]> {
  const { rows } = await client.query<{ indexname: string; indexdef: string }>(
    `select i.indexname, i.indexdef from pg_indexes i
      where i.schemaname = 'public' and i.tablename = any($1)
        and not exists (select 1 from pg_constraint c where c.conname = i.indexname)`,
    [tables],
  );
  return rows.map((r) => ({ name: r.indexname, def: r.indexdef }));
}

// ---- fill -------------------------------------------------------------------------------------------------------

interface Filled {
  saes: { id: string; slug: string; runId: string }[];
  /** features with examples, as [sae slug, index] */
  withExamples: [string, number][];
}

async function fill(pool: pg.Pool): Promise<Filled> {
  const client = await pool.connect();
  try {
    await client.query('set synchronous_commit = off');
    await client.query(`set maintenance_work_mem = '1GB'`);
    const dropped = await secondaryIndexes(client, ['feature', 'feature_example', 'feature_page', 'feature_revision']);
    for (const index of dropped) await client.query(`drop index "${index.name}"`);

    const { rows: [user] } = await client.query<{ id: string }>(
      `insert into "user" (id, name, email, role) values ($1, 'Bench', 'bench@example.org', 'admin') returning id`,
      [crypto.randomUUID()],
    );
    const config = { nLayers: 12, dModel: 768, nHeads: 12, nKvHeads: 12, dMlp: 3072, vocabSize: VOCAB, contextLength: 1024, hookNames: [] };
    const { rows: [model] } = await client.query<{ id: string }>(
      `insert into model (slug, architecture, path, config, content_hash) values ($1, 'gpt2', '/nonexistent', $2, 'bench') returning id`,
      [MODEL, config],
    );
    const pieces = Array.from({ length: VOCAB }, (_, i) => (i % 3 === 0 ? ` ${WORDS[i % WORDS.length]}` : `${WORDS[i % WORDS.length]}${i % 7 === 0 ? 's' : ''}`));
    await client.query(`insert into model_vocab (model_id, content_hash, pieces) values ($1, 'bench', $2)`, [model!.id, pieces]);

    const { rows: [corpus] } = await client.query<{ id: string }>(
      `insert into corpus (model_id, name, context_size, prepend_bos, content_hash, n_contexts, n_tokens, source)
       values ($1, 'bench corpus', $2, true, 'bench', $3, $4, '{}') returning id`,
      [model!.id, CONTEXT, N_CONTEXTS, N_CONTEXTS * CONTEXT],
    );
    const contexts: Int32Array[] = Array.from({ length: N_CONTEXTS }, () => {
      const c = new Int32Array(CONTEXT);
      c[0] = 50256;
      for (let t = 1; t < CONTEXT; t++) c[t] = randInt(VOCAB);
      return c;
    });
    await copyRows(client, 'corpus_context', ['corpus_id', 'index', 'tokens'], function* () {
      for (let i = 0; i < N_CONTEXTS; i++) yield `${corpus!.id}\t${i}\t\\\\x${tokensToBytes(contexts[i]!).toString('hex')}\n`;
    });
    log(`corpus: ${N_CONTEXTS} contexts of ${CONTEXT} tokens`);

    const nTokens = N_CONTEXTS * CONTEXT;
    const saes: Filled['saes'] = [];
    for (let s = 0; s < N_SAES; s++) {
      const slug = `${Math.floor(s / 4)}-${['res', 'att', 'mlp', 'res-pre'][s % 4]}`;
      const hook = `blocks.${Math.floor(s / 4)}.${['hook_resid_post', 'hook_attn_out', 'mlp.hook_post', 'hook_resid_pre'][s % 4]}`;
      const { rows: [sae] } = await client.query<{ id: string }>(
        `insert into sae (model_id, slug, hook_name, architecture, d_in, d_sae, cfg, path, content_hash)
         values ($1, $2, $3, 'standard', 768, $4, $5, '/nonexistent', 'bench') returning id`,
        [model!.id, slug, hook, PER_SAE, { context_size: 128, hook_name: hook }],
      );
      const byPosition = Array.from({ length: CONTEXT }, (_, position) => ({
        position, nTokens: N_CONTEXTS, l0: 40 + position * 0.05, mse: 0.002, varianceExplained: 0.85 - position * 0.0005, centredSumOfSquares: 1,
        nPredictions: N_CONTEXTS, ceClean: 3.1, ceSpliced: 3.3, ceAblated: 6, ceRecovered: 0.93 - position * 0.0002,
      }));
      const evals = {
        nTokens, l0: 45, mse: 0.002, varianceExplained: 0.83, centredSumOfSquares: 1, nPredictions: nTokens - N_CONTEXTS,
        ceClean: 3.1, ceSpliced: 3.3, ceAblated: 6, ceRecovered: 0.93, ablation: 'mean', nFeatures: PER_SAE, deadFraction: 0.05,
        ultraRareFraction: 0.1, ultraRareDensity: 1e-5,
        densityHistogram: { edges: Array.from({ length: 51 }, (_, i) => -7 + (7 * i) / 50), counts: Array.from({ length: 50 }, (_, i) => Math.round(PER_SAE * 0.02 * Math.exp(-((i - 30) ** 2) / 80))), dead: Math.round(PER_SAE * 0.05) },
        byPosition,
      };
      const { rows: [run] } = await client.query<{ id: string }>(
        `insert into dashboard_run (sae_id, corpus_id, status, params, evals, timings, n_tokens, completed_at)
         values ($1, $2, 'complete', '{}', $3, '{}', $4, now()) returning id`,
        [sae!.id, corpus!.id, evals, nTokens],
      );
      await client.query(`update sae set current_run_id = $1 where id = $2`, [run!.id, sae!.id]);
      saes.push({ id: sae!.id, slug, runId: run!.id });
    }

    // Features: every SAE's, with statistics and histograms.
    await copyRows(
      client,
      'feature',
      ['run_id', 'sae_id', 'index', 'n_tokens', 'nonzero_count', 'density', 'max_act', 'mean_act', 'mean_act_all', 'histogram', 'intervals',
        'logit_top', 'logit_bottom', 'logit_histogram', 'encoder_bias', 'encoder_norm', 'decoder_norm', 'de_dot', 'de_cos'],
      function* () {
        for (const sae of saes) {
          for (let index = 0; index < PER_SAE; index++) {
            const kind = random();
            const count = kind < 0.05 ? 0 : kind < 0.15 ? 1 + randInt(20) : Math.round(nTokens * 10 ** (-4.5 + random() * 4));
            const density = count / nTokens;
            const rare = kind < 0.15;
            const maxAct = count === 0 ? 0 : 0.5 + random() * 20;
            const deDot = rare ? (random() - 0.5) * 0.8 : 0.6 + random() * 0.6;
            yield `${sae.runId}\t${sae.id}\t${index}\t${nTokens}\t${count}\t${density}\t${maxAct.toFixed(4)}\t${(maxAct / 3).toFixed(4)}\t${((maxAct / 3) * density).toExponential(4)}\t` +
              `${ACT_HISTOGRAMS[randInt(256)]}\t${INTERVALS[randInt(256)]}\t${logitsJson(1)}\t${logitsJson(-1)}\t${LOGIT_HISTOGRAMS[randInt(256)]}\t` +
              `${(rare ? -1 - random() * 4 : (random() - 0.5) * 0.6).toFixed(4)}\t${(0.8 + random() * 0.4).toFixed(4)}\t1\t${deDot.toFixed(4)}\t${Math.max(-1, Math.min(1, deDot)).toFixed(4)}\n`;
          }
        }
      },
    );
    log(`features: ${saes.length * PER_SAE}`);

    // Top and quantile-interval examples for WITH_EXAMPLES features, spread evenly over the SAEs.
    const stride = Math.max(1, Math.floor((saes.length * PER_SAE) / WITH_EXAMPLES));
    const withExamples: [string, number][] = [];
    await copyRows(
      client,
      'feature_example',
      ['run_id', 'feature_index', 'kind', 'interval', 'rank', 'context_index', 'position', 'max_act', 'max_pos', 'acts', 'max_token'],
      function* () {
        for (let g = 0; g < saes.length * PER_SAE && withExamples.length < WITH_EXAMPLES; g += stride) {
          const sae = saes[Math.floor(g / PER_SAE)]!;
          const index = g % PER_SAE;
          withExamples.push([sae.slug, index]);
          for (let rank = 0; rank < TOP_EXAMPLES; rank++) {
            const ctx = randInt(N_CONTEXTS);
            const acts = ACTS[randInt(ACTS.length)]!;
            yield `${sae.runId}\t${index}\ttop\t-1\t${rank}\t${ctx}\t\\N\t${(20 - rank * 0.5).toFixed(3)}\t${acts.peak}\t\\\\x${acts.hex}\t${contexts[ctx]![acts.peak]}\n`;
          }
          // quantile-interval examples, as many as a dashboard shows: each centred on its drawn token
          for (const interval of INTERVAL_EXAMPLES.intervals) {
            for (let rank = 0; rank < INTERVAL_EXAMPLES.each; rank++) {
              const ctx = randInt(N_CONTEXTS);
              const acts = ACTS[randInt(ACTS.length)]!;
              yield `${sae.runId}\t${index}\tinterval\t${interval}\t${rank}\t${ctx}\t${acts.peak}\t${(interval * 0.7).toFixed(3)}\t${acts.peak}\t\\\\x${acts.hex}\t${contexts[ctx]![acts.peak]}\n`;
            }
          }
        }
      },
    );
    log(`examples: ${withExamples.length} features × ${TOP_EXAMPLES} top and ${INTERVAL_EXAMPLES.intervals.length * INTERVAL_EXAMPLES.each} interval`);

    // Labels (with a description) on 10% of the features, each with its first revision.
    const labelled: { saeId: string; index: number; label: string; body: string }[] = [];
    for (const sae of saes) for (let index = 0; index < PER_SAE; index++) if (random() < LABELLED_FRACTION) labelled.push({ saeId: sae.id, index, label: labelText(), body: bodyText() });
    await copyRows(client, 'feature_page', ['sae_id', 'index', 'label', 'body', 'revision', 'updated_by'], function* () {
      for (const p of labelled) yield `${p.saeId}\t${p.index}\t${p.label}\t${p.body}\t1\t${user!.id}\n`;
    });
    await copyRows(client, 'feature_revision', ['sae_id', 'index', 'revision', 'label', 'body', 'summary', 'author_id'], function* () {
      for (const p of labelled) yield `${p.saeId}\t${p.index}\t1\t${p.label}\t${p.body}\tbench\t${user!.id}\n`;
    });
    log(`labels: ${labelled.length}`);

    for (const index of dropped) await client.query(index.def);
    log(`rebuilt ${dropped.length} indexes`);
    await client.query('vacuum analyze');
    log('vacuum analyze done');
    return { saes, withExamples };
  } finally {
    client.release();
  }
}

// ---- measuring --------------------------------------------------------------------------------------------------

interface Figures {
  p50: number;
  p95: number;
  p99: number;
  mean: number;
  rps: number;
  requests: number;
  errors: number;
  /** mean response body size */
  bytes?: number;
  /** the web server's CPU time (user + system) per request while measured: what a request costs, whatever the load */
  cpuPerRequest?: number;
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

const CLK_TCK = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout) || 100;

/** CPU time a process has used so far, in ms (Linux /proc; undefined elsewhere). */
function cpuMs(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLK_TCK;
  } catch {
    return undefined;
  }
}

/** CPU time the web processes have used so far, in ms (undefined when it cannot be read) */
function serverCpuMs(): number | undefined {
  const each = (server?.processes ?? []).map((p) => cpuMs(p.pid));
  return each.length === 0 || each.includes(undefined) ? undefined : each.reduce((a, b) => a! + b!, 0);
}

/** A path to request, or a path with the headers to send (a revalidation's If-None-Match). */
type Target = string | { path: string; headers: Record<string, string> };

/** What one feature page's 200 is made of: the HTML, and the RSC flight data the browser hydrates from. */
/** `what`: the page's name in the report; `out`: where --page-out writes it. */
async function reportComposition(url: string, what: string, out: string) {
  const body = Buffer.from(await (await fetch(url)).arrayBuffer()).toString();
  if (out) fs.writeFileSync(out, body);
  const flight = [...body.matchAll(/<script[^>]*>self\.__next_f\.push\([\s\S]*?<\/script>/g)].reduce((n, m) => n + Buffer.byteLength(m[0]), 0);
  const kib = (bytes: number) => `${(bytes / 1024).toFixed(1)} KiB`;
  const total = Buffer.byteLength(body);
  console.log(`${what}, uncompressed: ${kib(total)}: ${kib(total - flight)} of HTML, ${kib(flight)} of flight data (self.__next_f.push)`);
}

/** `expected`: the status every response should have (304 for revalidations); any other counts as an error. */
async function load(url: string, paths: () => Target, seconds: number, connections = CONNECTIONS, expected: 200 | 304 = 200): Promise<Figures> {
  const run = (duration: number, latencies?: number[]) =>
    new Promise<autocannon.Result>((resolve, reject) => {
      const instance = autocannon(
        {
          url,
          connections,
          duration,
          timeout: 30,
          requests: [
            {
              method: 'GET',
              setupRequest: (req) => {
                const target = paths();
                return typeof target === 'string' ? { ...req, path: target } : { ...req, path: target.path, headers: { ...req.headers, ...target.headers } };
              },
            },
          ],
        },
        (err, result) => (err ? reject(err) : resolve(result)),
      );
      // Every response's time, for exact percentiles (autocannon's summary has p90 and p97.5 but no p95).
      if (latencies) instance.on('response', (_client: unknown, _status: number, _bytes: number, ms: number) => latencies.push(ms));
    });
  await run(WARMUP);
  const latencies: number[] = [];
  const cpuBefore = serverCpuMs();
  const r = await run(seconds, latencies);
  const cpuAfter = serverCpuMs();
  latencies.sort((a, b) => a - b);
  return {
    bytes: r.throughput.total / Math.max(1, r.requests.total),
    cpuPerRequest: cpuBefore !== undefined && cpuAfter !== undefined ? (cpuAfter - cpuBefore) / Math.max(1, latencies.length) : undefined,
    p50: percentile(latencies, 50),
    p95: percentile(latencies, 95),
    p99: percentile(latencies, 99),
    mean: latencies.reduce((a, b) => a + b, 0) / Math.max(1, latencies.length),
    rps: latencies.length / seconds,
    requests: latencies.length,
    errors: r.errors + r.timeouts + (expected === 304 ? r.requests.total - r['3xx'] : r.non2xx),
  };
}

/** The same statement, concurrently from `clients` loops through a pool of `poolSize`, for `seconds`. */
async function bareSql(pool: pg.Pool, query: () => pg.QueryConfig, clients: number, seconds: number): Promise<Figures> {
  const latencies: number[] = [];
  let errors = 0;
  const end = Date.now() + seconds * 1000;
  const warmEnd = Date.now() + WARMUP * 1000;
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (Date.now() < end) {
        const t0 = performance.now();
        try {
          await pool.query(query());
        } catch {
          errors++;
        }
        if (Date.now() > warmEnd) latencies.push(performance.now() - t0);
      }
    }),
  );
  latencies.sort((a, b) => a - b);
  return {
    p50: percentile(latencies, 50),
    p95: percentile(latencies, 95),
    p99: percentile(latencies, 99),
    mean: latencies.reduce((a, b) => a + b, 0) / latencies.length,
    rps: latencies.length / (seconds - WARMUP),
    requests: latencies.length,
    errors,
  };
}

const fmt = (f: Figures) =>
  `p50 ${f.p50.toFixed(1)} ms · p95 ${f.p95.toFixed(1)} ms · p99 ${f.p99.toFixed(1)} ms · mean ${f.mean.toFixed(1)} ms · ${f.rps.toFixed(1)} req/s (${f.requests} requests, ${f.errors} errors)` +
  (f.bytes !== undefined ? ` · ${(f.bytes / 1024).toFixed(0)} KiB/response` : '') +
  (f.cpuPerRequest !== undefined ? ` · server CPU ${f.cpuPerRequest.toFixed(1)} ms/request` : '');

// ---- main -------------------------------------------------------------------------------------------------------

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lexicon-bench-web-'));
fs.chmodSync(dir, 0o755);
let server: NextServer | undefined;
let database: Awaited<ReturnType<typeof startEmbeddedPostgres>> | undefined;
let pool: pg.Pool | undefined;

async function cleanup() {
  await server?.stop();
  await pool?.end().catch(() => undefined);
  await database?.stop().catch(() => undefined);
  if (!KEEP) fs.rmSync(dir, { recursive: true, force: true });
  else log(`kept ${dir}`);
}
process.on('SIGINT', () => void cleanup().then(() => process.exit(130)));

try {
  log(`load average ${os.loadavg().map((l) => l.toFixed(2)).join(' ')} on ${os.cpus().length} cores (other processes on the machine skew every figure)`);
  log(`${N_FEATURES} features in ${N_SAES} SAEs (${PER_SAE} each), ${WITH_EXAMPLES} with ${TOP_EXAMPLES} top and ${INTERVAL_EXAMPLES.intervals.length * INTERVAL_EXAMPLES.each} interval examples of ${CONTEXT} tokens, ${LABELLED_FRACTION * 100}% labelled`);
  database = await startEmbeddedPostgres({ dir: path.join(dir, 'pg') });
  await runMigrations(database.url);
  pool = new pg.Pool({ connectionString: database.url, max: 10 });
  pool.on('error', () => undefined);
  const filled = await fill(pool);
  log(`fill done`);

  const { rows: sizes } = await pool.query<{ name: string; bytes: string }>(
    `select c.relname as name, pg_total_relation_size(c.oid)::bigint as bytes from pg_class c
      join pg_namespace n on n.oid = c.relnamespace where n.nspname = 'public' and c.relkind = 'r' order by 2 desc limit 8`,
  );
  const { rows: [db] } = await pool.query<{ bytes: string }>(`select pg_database_size(current_database())::bigint as bytes`);
  const total = Number(db!.bytes);
  const mb = (b: number) => `${(b / 2 ** 20).toFixed(0)} MiB`;
  const perFeature = (name: string) => Number(sizes.find((s) => s.name === name)?.bytes ?? 0) / (N_SAES * PER_SAE);
  console.log('\nDatabase size');
  for (const s of sizes) console.log(`  ${s.name.padEnd(20)} ${mb(Number(s.bytes)).padStart(10)}  (${(Number(s.bytes) / (N_SAES * PER_SAE)).toFixed(0)} B per feature)`);
  console.log(`  whole database       ${mb(total).padStart(10)}  (${(total / (N_SAES * PER_SAE)).toFixed(0)} B per feature)`);
  console.log(
    `  per feature: ${perFeature('feature').toFixed(0)} B of statistics and histograms; ` +
      `${(Number(sizes.find((s) => s.name === 'feature_example')?.bytes ?? 0) / filled.withExamples.length).toFixed(0)} B of examples per feature that has them\n`,
  );

  if (BUILD) {
    log('building the web app (next build)…');
    buildWebApp(DIST_DIR);
  } else if (!fs.existsSync(path.join(ROOT, DIST_DIR, 'BUILD_ID'))) {
    throw new Error(`--no-build, but there is no build in ${DIST_DIR}`);
  }
  const profile = PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${path.resolve(PROFILE)}`] : [];
  const [sae0, index0] = filled.withExamples[0]!;
  const pick = <T>(xs: T[]) => xs[randInt(xs.length)]!;
  const featurePath = ([sae, index]: [string, number]) => `/${MODEL}/${sae}/${index}`;
  // Table pages: random SAE, sort, direction and filter; half of them deep pages (a keyset cursor from a real row).
  const { rows: cursorRows } = await pool.query<{ slug: string; index: number; density: number; max_act: number; encoder_bias: number; de_cos: number }>(
    `select s.slug, f.index, f.density, f.max_act, f.encoder_bias, f.de_cos from feature f tablesample system (1) join sae s on s.current_run_id = f.run_id limit 2000`,
  );
  const sorts = [['density', 'density'], ['maxAct', 'max_act'], ['encoderBias', 'encoder_bias'], ['deCos', 'de_cos']] as const;
  const filters = ['', '&labelled=no', '&status=alive', '&labelled=yes', '&min=-4&max=-1'];
  const tablePath = () => {
    const row = pick(cursorRows);
    const [sort, column] = pick([...sorts]);
    const dir = random() < 0.5 ? 'desc' : 'asc';
    const cursor = random() < 0.5 ? `&after=${row[column]}_${row.index}` : '';
    return `/${MODEL}/${row.slug}/features?sort=${sort}&dir=${dir}${pick(filters)}${cursor}`;
  };
  const searchPath = () => `/search?q=${encodeURIComponent(random() < 0.2 ? `${CONCEPTS[randInt(CONCEPTS.length)]} ${zipfWord()}` : zipfWord())}`;

  type Run = { feature: Figures; revalidated: Figures; zipf: Figures; table: Figures; search: Figures; floor: Figures };
  const runs = new Map<number, Run>();
  for (const count of PROCESSES) {
    server = await startNext({ distDir: DIST_DIR, databaseUrl: database.url, processes: count, nodeArgs: profile });
    const url = server.url;
    log(`next start on ${url}, ${count} web process${count === 1 ? '' : 'es'}`);
    // Check each page answers before timing it.
    for (const p of [featurePath([sae0, index0]), `/${MODEL}/${sae0}/features`, `/search?q=${WORDS[0]}`]) {
      const r = await fetch(url + p);
      if (r.status !== 200) throw new Error(`${p} answered ${r.status}`);
    }
    if (count === PROCESSES[0]) {
      console.log('');
      await reportComposition(url + featurePath([sae0, index0]), 'one feature page', PAGE_OUT);
      await reportComposition(`${url}/${MODEL}/${sae0}/features`, 'one feature table page', PAGE_OUT && tableFile(PAGE_OUT));
    }
    // Anonymous revalidations: each of these pages with the ETag its 200 carried, answered 304 before rendering.
    const revalidations: Target[] = [];
    for (let i = 0; i < 200; i++) {
      const p = featurePath(pick(filled.withExamples));
      const etag = (await fetch(url + p)).headers.get('etag');
      if (!etag) throw new Error(`${p} answered without an ETag`);
      revalidations.push({ path: p, headers: { 'if-none-match': etag } });
    }
    console.log(`\nHTTP, ${count} web process${count === 1 ? '' : 'es'}, ${CONNECTIONS} concurrent clients, ${DURATION} s each after ${WARMUP} s of warm-up (autocannon ${autocannonVersion()})`);
    const run: Run = {
      feature: await load(url, () => featurePath(pick(filled.withExamples)), DURATION),
      revalidated: await load(url, () => pick(revalidations), DURATION, CONNECTIONS, 304),
      // wiki traffic: a few hot pages and a long tail
      zipf: await load(url, () => featurePath(zipfPick(filled.withExamples)), DURATION),
      table: await load(url, tablePath, DURATION),
      search: await load(url, searchPath, DURATION),
      // The floor: the cheapest page the app serves (the layout and a form, no query), as loaded.
      floor: await load(url, () => '/signin', DURATION),
    };
    runs.set(count, run);
    console.log(`  feature page        ${fmt(run.feature)}`);
    console.log(`  feature page, 304   ${fmt(run.revalidated)}   ← an anonymous reader's revalidation (If-None-Match)`);
    console.log(`  feature page, Zipf  ${fmt(run.zipf)}`);
    console.log(`  SAE feature table   ${fmt(run.table)}`);
    console.log(`  label search        ${fmt(run.search)}`);
    console.log(`  sign-in page        ${fmt(run.floor)}   ← floor: any page costs this much`);
    if (count === PROCESSES[0]) {
      // One client at a time: what a request costs without queueing behind others.
      console.log(`\nHTTP, ${count} web process${count === 1 ? '' : 'es'}, 1 client, 10 s each`);
      console.log(`  feature page        ${fmt(await load(url, () => featurePath(pick(filled.withExamples)), 10, 1))}`);
      console.log(`  SAE feature table   ${fmt(await load(url, tablePath, 10, 1))}`);
      console.log(`  label search        ${fmt(await load(url, searchPath, 10, 1))}`);
      console.log(`  sign-in page        ${fmt(await load(url, () => '/signin', 10, 1))}`);
    }
    await server.stop();
    server = undefined;
  }

  // The feature page's bare SQL, same concurrency, through a pool as large as the app's.
  const { featurePageQuery } = await import('@/server/feature-page');
  const query = () => {
    const [sae, index] = pick(filled.withExamples);
    // vocabulary cached, interval examples left out, its discussion read, an anonymous reader: as the page reads a
    // feature (its intervals collapsed)
    return featurePageQuery({ model: MODEL, sae, index }, { withVocab: false, intervalExamples: false, discussion: true, viewer: null });
  };
  const bare = await bareSql(pool, query, CONNECTIONS, Math.min(DURATION, 15));
  console.log(`\nBare SQL of the feature page (one statement), web server stopped`);
  console.log(`  ${CONNECTIONS} clients, pool of 10   ${fmt(bare)}`);
  const single = await bareSql(pool, query, 1, 10);
  console.log(`  1 client                 ${fmt(single)}`);

  // Everything as ratios to the floor measured in the same run (issue 16's targets).
  const first = runs.get(PROCESSES[0]!)!;
  const ratio = (a: number | undefined, b: number | undefined) => (a !== undefined && b !== undefined ? `${(a / b).toFixed(2)}×` : 'n/a');
  const met = (ok: boolean) => (ok ? 'met' : 'NOT met');
  console.log(`\nRatios to the sign-in page (the floor), ${PROCESSES[0]} web process${PROCESSES[0] === 1 ? '' : 'es'}, ${CONNECTIONS} clients`);
  console.log(`  feature page: server CPU per request ${ratio(first.feature.cpuPerRequest, first.floor.cpuPerRequest)} (target ≤ 2×), p95 ${ratio(first.feature.p95, first.floor.p95)} (target ≤ 3×), ${((first.feature.bytes ?? 0) / 1024).toFixed(0)} KiB per response (target ≤ 64 KiB)`);
  console.log(`  feature page revalidated (304): server CPU per request ${ratio(first.revalidated.cpuPerRequest, first.floor.cpuPerRequest)}, ${ratio(first.revalidated.cpuPerRequest, first.feature.cpuPerRequest)} of a 200's; p95 ${ratio(first.revalidated.p95, first.floor.p95)}`);
  console.log(`  feature page, Zipf: server CPU per request ${ratio(first.zipf.cpuPerRequest, first.floor.cpuPerRequest)}, p95 ${ratio(first.zipf.p95, first.floor.p95)}`);
  console.log(`  SAE feature table: p95 ${ratio(first.table.p95, first.floor.p95)} (target ≤ 3×); label search: p95 ${ratio(first.search.p95, first.floor.p95)} (target ≤ 3×)`);
  console.log(`  feature page p95 / bare SQL p95 at the same concurrency: ${ratio(first.feature.p95, bare.p95)}`);
  if (PROCESSES.length > 1) {
    const last = PROCESSES.at(-1)!;
    const scaled = runs.get(last)!;
    const gain = scaled.feature.rps / first.feature.rps;
    console.log(`\nScaling: ${last} web processes against ${PROCESSES[0]}, requests per second`);
    console.log(`  feature page ${gain.toFixed(2)}× (target ≥ 1.6× for 2 on 2 cores: ${met(gain >= 1.6)}); Zipf ${(scaled.zipf.rps / first.zipf.rps).toFixed(2)}×; table ${(scaled.table.rps / first.table.rps).toFixed(2)}×; search ${(scaled.search.rps / first.search.rps).toFixed(2)}×; sign-in page ${(scaled.floor.rps / first.floor.rps).toFixed(2)}×`);
  }
  log(`load average ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  log('done');
} catch (err) {
  console.error(err);
  process.exitCode = 1;
} finally {
  await cleanup();
}

function autocannonVersion(): string {
  try {
    return JSON.parse(fs.readFileSync(path.join(ROOT, 'node_modules/autocannon/package.json'), 'utf8')).version;
  } catch {
    return '?';
  }
}

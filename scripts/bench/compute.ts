/**
 * `npm run bench:compute`: on-demand SAE activations in the compute worker (issue 3). Prints figures; not a test.
 *
 *   npm run bench:compute [-- --models stories,gpt2] [--requests 200] [--batch-runs 2] [--from-disk] [--profile]
 *
 * For a GPT-2-small-shaped model (12 layers, d 768, vocab 50257, seeded random weights, built through Gpt2Model) with a
 * 24576-feature standard SAE at blocks.6.hook_resid_pre (built through createSae), and for stories260K with the
 * fixture SAE (loaded through loadModel / loadSae), it measures:
 *   - one activations request for a 128-token prompt, as the worker serves it (featureActivations in
 *     compute/analyses/activations.ts: forward pass stopped at the SAE's hook, SAE encode, the top-5 features of every
 *     token read back to JS); median and p95 over the requests after the warm-up ones;
 *   - tokens per second for forward-to-hook + SAE encode (+ top-k read back) on a batch of 32 × 128 tokens, as one
 *     forward pass and as 32 single requests;
 *   - tf.memory().numTensors and RSS after 10 requests and after the last (flat means no leak).
 * The backend is the worker's choice (initBackend: LEXICON_TF_BACKEND, else the best available).
 * --from-disk writes the GPT-2-shaped model and SAE in Hugging Face / SAELens layout to a temp dir and loads them
 * through loadModel / loadSae instead (≈ 650 MB written; reports the load time).
 * --profile prints where the time of one request goes, by kernel. --batch-runs 0 skips the batch measurements.
 */
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import * as tf from '@tensorflow/tfjs-core';
import { featureActivations } from '@/compute/analyses/activations';
import { initBackend } from '@/compute/backend';
import { Gpt2Model, type Gpt2Weights } from '@/compute/model/gpt2';
import { loadModel } from '@/compute/model/load';
import type { LanguageModel } from '@/compute/model/types';
import { seededRandom } from '@/compute/random';
import { parseSaeConfig } from '@/compute/sae/config';
import { loadSae } from '@/compute/sae/load';
import { createSae, type Sae } from '@/compute/sae/sae';
import { gpt2Tokenizer } from '@/compute/tokenizer/gpt2';
import { GPT2_CONFIG, GPT2_SAE_CFG, gpt2Arrays, saeArrays, writeGpt2Shaped } from './gpt2-shaped';
import { flag, integer, option } from './options';
import { median, prompt, quantile } from './requests';

// ---- options --------------------------------------------------------------------------------------------------

// stories260K first: the wasm heap never shrinks, so its RSS figures would otherwise carry the GPT-2-sized heap
const MODELS = option('models', 'stories,gpt2').split(',');
const REQUESTS = integer('requests', 200);
// a short run keeps at least one request to measure, and takes its memory snapshot at its last request
const WARMUP = Math.min(5, REQUESTS - 1);
const MEMORY_AT = Math.min(10, REQUESTS);
const BATCH_RUNS = integer('batch-runs', 2, 0);
const FROM_DISK = flag('from-disk');
const PROFILE = flag('profile');
const SEQ = 128;
const BATCH = 32;
/** features read back per token (featureActivations' default) */
const TOP_K = 5;
const SHARED = process.env.LEXICON_SHARED_DIR ?? path.resolve(import.meta.dirname, '../../../shared');

/** A callable gc (so RSS is compared after a full collection), without needing node --expose-gc. */
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

// ---- the request being measured -----------------------------------------------------------------------------------

interface Acts {
  /** per token, the TOP_K strongest features and their activations */
  indices: Int32Array;
  values: Float32Array;
}

/**
 * The batch measurement: forward pass of several sequences stopped at the SAE's hook, SAE encode of every position,
 * top-k features per token read back to JS — what featureActivations does for one sequence, batched.
 */
function batchActivations(model: LanguageModel, sae: Sae, ids: number[][]): Acts {
  const hook = sae.cfg.hookName;
  const { cache } = model.forward(ids, { capture: [hook], stopAt: hook });
  const x = cache.get(hook)!;
  const { values, indices } = tf.tidy(() => tf.topk(sae.encode(tf.reshape(x, [-1, sae.dIn])), Math.min(TOP_K, sae.dSae)));
  x.dispose();
  const result = { indices: indices.dataSync() as Int32Array, values: values.dataSync() as Float32Array };
  tf.dispose([values, indices]);
  return result;
}

// ---- models ---------------------------------------------------------------------------------------------------------

interface Subject {
  name: string;
  model: LanguageModel;
  sae: Sae;
  /** how it was built/loaded, and how long that took */
  setup: string;
  cleanup(): Promise<void>;
}

async function gpt2Subject(): Promise<Subject> {
  const started = performance.now();
  const random = seededRandom(20240601);
  const arrays = gpt2Arrays(random);
  const sae = saeArrays(random, GPT2_SAE_CFG.d_in, GPT2_SAE_CFG.d_sae);
  const generated = performance.now();
  if (FROM_DISK) {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'lexicon-bench-gpt2-'));
    const { modelDir, saeDir } = await writeGpt2Shaped(dir, arrays, sae);
    arrays.clear();
    sae.clear();
    const written = performance.now();
    const model = await loadModel(modelDir);
    const loadedModel = performance.now();
    const loadedSae = await loadSae(saeDir);
    const loaded = performance.now();
    return {
      name: 'GPT-2-small-shaped',
      model,
      sae: loadedSae,
      setup: `random weights ${s(generated - started)}, written ${s(written - generated)}, loadModel ${s(loadedModel - written)}, loadSae ${s(loaded - loadedModel)}`,
      cleanup: () => fs.rm(dir, { recursive: true, force: true }),
    };
  }
  const t = (name: string) => {
    const { shape, data } = arrays.get(name)!;
    return tf.tensor(data, shape, 'float32') as never;
  };
  const ln = (name: string) => ({ weight: t(`${name}.weight`), bias: t(`${name}.bias`) });
  const weights: Gpt2Weights = {
    tokenEmbedding: t('wte.weight'),
    positionEmbedding: t('wpe.weight'),
    blocks: Array.from({ length: GPT2_CONFIG.nLayers }, (_, l) => ({
      ln1: ln(`h.${l}.ln_1`),
      attnQkv: ln(`h.${l}.attn.c_attn`),
      attnOut: ln(`h.${l}.attn.c_proj`),
      ln2: ln(`h.${l}.ln_2`),
      mlpIn: ln(`h.${l}.mlp.c_fc`),
      mlpOut: ln(`h.${l}.mlp.c_proj`),
    })),
    lnFinal: ln('ln_f'),
  };
  const model = new Gpt2Model(GPT2_CONFIG, weights, gpt2Tokenizer());
  const saeWeights = Object.fromEntries([...sae].map(([name, { shape, data }]) => [name, tf.tensor(data, shape, 'float32')]));
  const built = createSae(parseSaeConfig(GPT2_SAE_CFG), saeWeights as never);
  arrays.clear();
  sae.clear();
  return {
    name: 'GPT-2-small-shaped',
    model,
    sae: built,
    setup: `random weights ${s(generated - started)}, tensors + Gpt2Model/createSae ${s(performance.now() - generated)} (in memory)`,
    cleanup: async () => undefined,
  };
}

async function storiesSubject(): Promise<Subject> {
  const started = performance.now();
  const model = await loadModel(path.join(SHARED, 'models/stories260K'));
  const sae = await loadSae(path.join(SHARED, 'fixtures/sae-stories260K-l2-standard'));
  return { name: 'stories260K', model, sae, setup: `loadModel + loadSae ${s(performance.now() - started)}`, cleanup: async () => undefined };
}

// ---- measurements ----------------------------------------------------------------------------------------------

interface Figures {
  name: string;
  sae: string;
  setup: string;
  single: { median: number; p95: number; min: number; n: number; cpuMedian: number };
  phases: { forward: number; encode: number; readBack: number; readAllActs: number };
  batch: { tokensPerSecond: number; ms: number };
  /** the same 32 sequences as 32 single requests, one after another */
  sequential: { tokensPerSecond: number; ms: number };
  memory: { early: Snapshot; atEnd: Snapshot; requests: number };
  profile?: string;
}

interface Snapshot {
  numTensors: number;
  numBytes: number;
  rss: number;
}

function snapshot(): Snapshot {
  gc();
  const { numTensors, numBytes } = tf.memory();
  return { numTensors, numBytes, rss: process.memoryUsage().rss };
}

async function measure(subject: Subject): Promise<Figures> {
  const { model, sae } = subject;
  const random = seededRandom(7);
  const ids = [prompt(model, random, SEQ)];
  log(`${subject.name}: ${subject.setup}`);

  // Single requests, also the memory check: snapshots after request MEMORY_AT and after the last one.
  const times: number[] = [];
  const cpuTimes: number[] = [];
  let early: Snapshot | undefined;
  for (let i = 1; i <= REQUESTS; i++) {
    const started = performance.now();
    const cpu = process.cpuUsage();
    featureActivations(model, sae, ids[0], { topK: TOP_K });
    const ms = performance.now() - started;
    const { user, system } = process.cpuUsage(cpu);
    if (i > WARMUP) {
      times.push(ms);
      cpuTimes.push((user + system) / 1000);
    }
    if (i === MEMORY_AT) early = snapshot();
    if (i % 50 === 0 || i === REQUESTS) log(`  ${i}/${REQUESTS} requests, last ${ms.toFixed(1)} ms`);
  }
  const atEnd = snapshot();

  // Where a request's time goes: each phase synchronised by reading its (small) result.
  const phaseRuns: { forward: number; encode: number; readBack: number; readAllActs: number }[] = [];
  for (let i = 0; i < 5; i++) {
    const hook = sae.cfg.hookName;
    let t = performance.now();
    const { cache } = model.forward(ids, { capture: [hook], stopAt: hook });
    const x = cache.get(hook)!;
    await x.data();
    const forward = performance.now() - t;
    t = performance.now();
    const acts = tf.tidy(() => sae.encode(tf.reshape(x, [-1, sae.dIn])));
    await tf.slice(acts, [0, 0], [1, 1]).data();
    const encode = performance.now() - t;
    t = performance.now();
    const { values, indices } = tf.topk(acts, Math.min(TOP_K, sae.dSae));
    await Promise.all([values.data(), indices.data()]);
    const readBack = performance.now() - t;
    t = performance.now();
    await acts.data();
    const readAllActs = performance.now() - t;
    tf.dispose([x, acts, values, indices]);
    phaseRuns.push({ forward, encode, readBack, readAllActs });
  }
  const phase = (key: keyof (typeof phaseRuns)[number]) => median(phaseRuns.map((r) => r[key]));

  let profile: string | undefined;
  if (PROFILE) profile = await profileRequest(model, sae, ids);

  // Batch of 32 × 128 tokens: one warm-up, then the median of BATCH_RUNS.
  log(`  batch of ${BATCH} × ${SEQ} tokens, ${BATCH_RUNS} runs after a warm-up; tf.memory ${mb(tf.memory().numBytes)}`);
  const batchIds = Array.from({ length: BATCH }, () => prompt(model, random, SEQ));
  const batchTimes: number[] = [];
  for (let i = 0; BATCH_RUNS > 0 && i <= BATCH_RUNS; i++) {
    const started = performance.now();
    batchActivations(model, sae, batchIds);
    if (i > 0) batchTimes.push(performance.now() - started);
  }
  const batchMs = median(batchTimes);
  const started = performance.now();
  for (const row of BATCH_RUNS > 0 ? batchIds : []) featureActivations(model, sae, row, { topK: TOP_K });
  const sequentialMs = BATCH_RUNS > 0 ? performance.now() - started : NaN;

  return {
    name: subject.name,
    sae: `${sae.cfg.architecture} d_sae ${sae.dSae} @ ${sae.cfg.hookName}`,
    setup: subject.setup,
    single: { median: median(times), p95: quantile(times, 0.95), min: Math.min(...times), n: times.length, cpuMedian: median(cpuTimes) },
    phases: { forward: phase('forward'), encode: phase('encode'), readBack: phase('readBack'), readAllActs: phase('readAllActs') },
    batch: { tokensPerSecond: (BATCH * SEQ) / (batchMs / 1000), ms: batchMs },
    sequential: { tokensPerSecond: (BATCH * SEQ) / (sequentialMs / 1000), ms: sequentialMs },
    memory: { early: early!, atEnd, requests: REQUESTS },
    profile,
  };
}

/** Kernel times of one request (tf.profile), summed by kernel name, largest first. */
async function profileRequest(model: LanguageModel, sae: Sae, ids: number[][]): Promise<string> {
  const info = await tf.profile(() => {
    featureActivations(model, sae, ids[0], { topK: TOP_K });
  });
  const byKernel = new Map<string, { ms: number; calls: number }>();
  for (const k of info.kernels) {
    // tf.profile lists op wrappers (e.g. fusedMatMul__op) beside the kernels they run; count kernels only
    if (k.name.endsWith('__op')) continue;
    const entry = byKernel.get(k.name) ?? { ms: 0, calls: 0 };
    entry.ms += Number(k.kernelTimeMs) || 0;
    entry.calls++;
    byKernel.set(k.name, entry);
  }
  const total = [...byKernel.values()].reduce((sum, e) => sum + e.ms, 0);
  const rows = [...byKernel].sort((a, b) => b[1].ms - a[1].ms).slice(0, 12);
  return [
    `kernel time ${total.toFixed(0)} ms in ${info.kernels.length} kernels:`,
    ...rows.map(([name, e]) => `  ${name.padEnd(18)} ${e.ms.toFixed(1).padStart(8)} ms  ${String(e.calls).padStart(4)} calls  ${((100 * e.ms) / total).toFixed(0).padStart(3)}%`),
  ].join('\n');
}

// ---- output -----------------------------------------------------------------------------------------------------

function s(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

/** RSS counts as flat when it moved by at most 2% or 16 MB (allocator and GC noise) */
const rssFlat = ({ early, atEnd }: { early: Snapshot; atEnd: Snapshot }) => Math.abs(atEnd.rss - early.rss) <= Math.max(16 * 2 ** 20, 0.02 * early.rss);

const mb = (bytes: number) => `${(bytes / 2 ** 20).toFixed(0)} MB`;

function log(line: string) {
  console.error(`[bench] ${line}`);
}

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i])).join(' | ')} |`;
  return [line(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.map(line)].join('\n');
}

// ---- main -------------------------------------------------------------------------------------------------------

const backend = await initBackend();
const flags = backend.startsWith('wasm') ? ` (simd ${tf.env().getBool('WASM_HAS_SIMD_SUPPORT')}, threads ${tf.env().getBool('WASM_HAS_MULTITHREAD_SUPPORT')})` : '';
const target = backend === 'node-gpu' ? 50 : 1000;
const results: Figures[] = [];
for (const name of MODELS) {
  const subject = name === 'gpt2' ? await gpt2Subject() : name === 'stories' ? await storiesSubject() : undefined;
  if (!subject) throw new Error(`unknown model ${name} (gpt2, stories)`);
  try {
    results.push(await measure(subject));
  } catch (err) {
    // a failure inside the wasm heap (e.g. out of memory) can leave it unusable: report before disposing
    console.error(`[bench] ${subject.name} failed:`, err);
    process.exit(1);
  } finally {
    subject.model.dispose();
    subject.sae.dispose();
    await subject.cleanup();
  }
}

const [load1, load5] = os.loadavg();
console.log(`\nbench:compute — backend ${backend}${flags}; ${os.cpus().length} cores (${os.cpus()[0]?.model.trim()}), load average ${load1.toFixed(2)} / ${load5.toFixed(2)} (1 / 5 min); Node ${process.version}`);
console.log(`one request = featureActivations (forward to the SAE hook + SAE encode + top-${TOP_K} features per token read back), ${SEQ} tokens: median (p95) of ${REQUESTS - WARMUP} after ${WARMUP} warm-up`);
console.log('CPU ms = process CPU time (user + system) per request, median: on a busy machine closer to the unloaded time than wall time, as tfjs-wasm runs on one thread');
console.log(`batch = the same for ${BATCH} sequences in one forward pass and one encode (median of ${BATCH_RUNS} after a warm-up); ${BATCH} × 1×${SEQ} = those sequences as ${BATCH} single requests\n`);
console.log(
  table(
    ['model', 'SAE', `1×${SEQ} request ms (p95)`, 'CPU ms', `target ${target} ms`, 'fwd / enc / top-k / all acts ms', `${BATCH}×${SEQ} batch tok/s`, `${BATCH} × 1×${SEQ} tok/s`, `tensors @${MEMORY_AT} → @${REQUESTS}`, `RSS @${MEMORY_AT} → @${REQUESTS}`],
    results.map((r) => [
      r.name,
      r.sae,
      `${r.single.median.toFixed(1)} (${r.single.p95.toFixed(1)})`,
      r.single.cpuMedian.toFixed(1),
      r.name === 'GPT-2-small-shaped' ? `${r.single.median <= target ? 'met' : 'MISSED'} (by CPU ms: ${r.single.cpuMedian <= target ? 'met' : 'MISSED'})` : '—',
      [r.phases.forward, r.phases.encode, r.phases.readBack, r.phases.readAllActs].map((x) => x.toFixed(1)).join(' / '),
      BATCH_RUNS > 0 ? `${r.batch.tokensPerSecond.toFixed(0)} (${(r.batch.ms / 1000).toFixed(2)} s)` : '—',
      BATCH_RUNS > 0 ? `${r.sequential.tokensPerSecond.toFixed(0)} (${(r.sequential.ms / 1000).toFixed(2)} s)` : '—',
      // with MEMORY_AT = REQUESTS both snapshots are one moment: no leak check
      MEMORY_AT === REQUESTS ? '— (too few requests)' : `${r.memory.early.numTensors} → ${r.memory.atEnd.numTensors}${r.memory.early.numTensors === r.memory.atEnd.numTensors ? ' flat' : ' GROWS'}`,
      MEMORY_AT === REQUESTS
        ? '—'
        : `${mb(r.memory.early.rss)} → ${mb(r.memory.atEnd.rss)} (${r.memory.atEnd.rss >= r.memory.early.rss ? '+' : ''}${mb(r.memory.atEnd.rss - r.memory.early.rss)}${rssFlat(r.memory) ? ' flat' : ' GROWS'})`,
    ]),
  ),
);
for (const r of results) {
  console.log(`\n${r.name}: ${r.setup}; tf.memory ${mb(r.memory.early.numBytes)} → ${mb(r.memory.atEnd.numBytes)}; fastest request ${r.single.min.toFixed(1)} ms`);
  if (r.profile) console.log(r.profile);
}

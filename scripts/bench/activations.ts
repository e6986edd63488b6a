/**
 * `npm run bench:activations`: one on-demand activations request (issue 17) beside PyTorch's, on one thread each.
 * Prints figures; not a test.
 *
 *   npm run bench:activations [-- --requests 20] [--warmup 3] [--keep DIR]
 *
 * Writes the GPT-2-small-shaped model (12 layers, d 768, seeded random weights) and its 24576-feature standard SAE at
 * blocks.6.hook_resid_pre in Hugging Face / SAELens layout (scripts/bench/gpt2-shaped.ts), loads them through
 * loadModel / loadSae, and times featureActivations on a 128-token prompt: forward pass to the hook, SAE encode, the
 * top-5 features of every token read back, as the worker's activations job serves it. Then, when a python3 with torch
 * is found (LEXICON_PYTHON, python3, /usr/bin/python3), scripts/bench/activations_torch.py does the same from the same
 * files with torch.set_num_threads(1), and the two feature activation matrices are compared.
 * Figures are medians of process CPU time per request (closer to the unloaded time on a busy machine than wall time;
 * both sides compute on one thread) and of wall time; the ratio is ours / PyTorch's.
 */
import { spawnSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { featureActivations } from '@/compute/analyses/activations';
import { hookActivations } from '@/compute/analyses/common';
import { initBackend } from '@/compute/backend';
import { loadModel } from '@/compute/model/load';
import type { LanguageModel } from '@/compute/model/types';
import { seededRandom } from '@/compute/random';
import { loadSae } from '@/compute/sae/load';
import type { Sae } from '@/compute/sae/sae';
import { gpt2Arrays, saeArrays, writeGpt2Shaped } from './gpt2-shaped';
import { integer } from './options';
import { median, prompt, timed } from './requests';

const REQUESTS = integer('requests', 20);
const WARMUP = integer('warmup', 3, 0);
const SEQ = 128;
const TOP_K = 5;
/** the feature page's own feature, which the activations job always lists */
const FEATURES = [0];
const TARGET_RATIO = 1.5;
/** blocks run before the SAE's hook, blocks.6.hook_resid_pre */
const LAYERS = 6;
const TORCH_SCRIPT = path.join(import.meta.dirname, 'activations_torch.py');

interface Side {
  cpuMs: number;
  wallMs: number;
}

const log = (line: string) => console.error(`[bench] ${line}`);

/**
 * Our request, timed: median CPU and wall ms of featureActivations, of the forward pass to the hook alone, and of the
 * request's matrix products alone (the same shapes and fused bias, random operands: what the rest costs on top).
 */
function ours(model: LanguageModel, sae: Sae, ids: number[]): { request: Side; forward: Side; products: Side; acts: Float32Array } {
  const runs = (fn: () => void) => {
    const times = Array.from({ length: WARMUP + REQUESTS }, () => timed(fn)).slice(WARMUP);
    return { cpuMs: median(times.map((t) => t.cpuMs)), wallMs: median(times.map((t) => t.wallMs)) };
  };
  const request = runs(() => featureActivations(model, sae, ids, { features: FEATURES, topK: TOP_K }));
  const forward = runs(() => tf.tidy(() => void hookActivations(model, sae, ids).dataSync()));
  const acts = tf.tidy(() => sae.encode(hookActivations(model, sae, ids)).dataSync() as Float32Array);
  const { dModel: d, dMlp } = model.config;
  const shapes = [...Array.from({ length: LAYERS }, () => [[d, 3 * d], [d, d], [d, dMlp], [dMlp, d]]).flat(), [d, sae.dSae]];
  const operands = shapes.map(([k, n]) => ({ a: tf.randomNormal([ids.length, k]) as tf.Tensor2D, b: tf.randomNormal([k, n]) as tf.Tensor2D, bias: tf.randomNormal([n]) }));
  // tfjs-wasm computes each kernel when called: nothing needs reading back, as in the request
  const products = runs(() => operands.forEach((o) => tf.tidy(() => void tf.fused.matMul(o))));
  tf.dispose(operands.flatMap(Object.values));
  return { request, forward, products, acts };
}

/** A python3 that imports torch, or undefined. */
function torchPython(): string | undefined {
  const candidates = [process.env.LEXICON_PYTHON, 'python3', '/usr/bin/python3'].filter((p): p is string => !!p);
  return candidates.find((python) => spawnSync(python, ['-c', 'import torch, numpy'], { stdio: 'ignore' }).status === 0);
}

interface TorchFigures extends Side {
  productsCpuMs: number;
  torch: string;
  blas: string;
  threads: number;
  acts: Float32Array;
}

/** The same request in PyTorch, from the same files; its feature activations come back through a file in `dir`. */
async function pytorch(python: string, dir: string, modelDir: string, saeDir: string, ids: number[]): Promise<TorchFigures> {
  const idsFile = path.join(dir, 'ids.json');
  const actsFile = path.join(dir, 'acts-torch.f32');
  await fs.writeFile(idsFile, JSON.stringify(ids));
  const args = [TORCH_SCRIPT, modelDir, saeDir, idsFile, actsFile, '--requests', String(REQUESTS), '--warmup', String(WARMUP), '--top-k', String(TOP_K)];
  const run = spawnSync(python, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  if (run.status !== 0) throw new Error(`${python} ${path.basename(TORCH_SCRIPT)} failed (${run.status ?? run.signal})`);
  const figures = JSON.parse(run.stdout.trim().split('\n').at(-1)!) as Omit<TorchFigures, 'acts'>;
  const bytes = await fs.readFile(actsFile);
  return { ...figures, acts: new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4) };
}

/** Largest |a − b| and largest |a|, element by element. */
function difference(a: Float32Array, b: Float32Array): { maxAbsDiff: number; maxAbs: number } {
  if (a.length !== b.length) throw new Error(`feature activations differ in size: ${a.length} against ${b.length} values`);
  let maxAbsDiff = 0;
  let maxAbs = 0;
  for (let i = 0; i < a.length; i++) {
    maxAbsDiff = Math.max(maxAbsDiff, Math.abs(a[i] - b[i]));
    maxAbs = Math.max(maxAbs, Math.abs(a[i]));
  }
  return { maxAbsDiff, maxAbs };
}

const ms = ({ cpuMs, wallMs }: Side) => `${cpuMs.toFixed(0)} ms CPU (${wallMs.toFixed(0)} ms wall)`;

const backend = await initBackend();
const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'lexicon-bench-activations-'));
try {
  const started = performance.now();
  const random = seededRandom(20240601);
  const { modelDir, saeDir } = await writeGpt2Shaped(dir, gpt2Arrays(random), saeArrays(random));
  log(`GPT-2-small-shaped model and SAE written in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  const model = await loadModel(modelDir);
  const sae = await loadSae(saeDir);
  const ids = prompt(model, seededRandom(7), SEQ);
  let our: ReturnType<typeof ours>;
  try {
    our = ours(model, sae, ids);
  } finally {
    // freed before PyTorch loads its copy
    model.dispose();
    sae.dispose();
  }
  const python = torchPython();
  const torch = python ? await pytorch(python, dir, modelDir, saeDir, ids) : undefined;

  const [load1, load5] = os.loadavg();
  const flags = backend.startsWith('wasm') ? ` (simd ${tf.env().getBool('WASM_HAS_SIMD_SUPPORT')}, threads ${tf.env().getBool('WASM_HAS_MULTITHREAD_SUPPORT')})` : '';
  console.log(`\nbench:activations — ${os.cpus().length} cores (${os.cpus()[0]?.model.trim()}), load average ${load1.toFixed(2)} / ${load5.toFixed(2)} (1 / 5 min); Node ${process.version}`);
  console.log(`one request = ${SEQ} tokens through GPT-2-small-shaped (12 layers, d 768) to blocks.6.hook_resid_pre + encode by a standard SAE of 24576 features + top-${TOP_K} features per token; median of ${REQUESTS} after ${WARMUP} warm-up`);
  console.log(`ours (tfjs ${backend}${flags}, one thread): ${ms(our.request)} per request; forward to the hook ${ms(our.forward)}, encode + top-${TOP_K} the rest; its matrix products alone ${ms(our.products)}`);
  if (!torch) {
    console.log('PyTorch: not measured — no python3 with torch and numpy found (apt-get install -y python3-torch python3-numpy, or set LEXICON_PYTHON)');
  } else {
    console.log(`PyTorch ${torch.torch} (${torch.threads} thread, BLAS ${torch.blas}): ${ms(torch)} per request`);
    if (!/openblas|mkl|blis/i.test(torch.blas)) {
      console.log('  note: torch runs on the reference BLAS here (Debian\'s default libblas3), far slower than OpenBLAS; apt-get install -y libopenblas0-pthread for the figure the target is set against');
    }
    const ratio = our.request.cpuMs / torch.cpuMs;
    console.log(`ratio ours / PyTorch: ${ratio.toFixed(2)}× by CPU time (${(our.request.wallMs / torch.wallMs).toFixed(2)}× by wall time); target ≤ ${TARGET_RATIO}×: ${ratio <= TARGET_RATIO ? 'met' : 'MISSED'}`);
    console.log(`matrix products alone (${LAYERS} × 4 in the blocks + the encoder's, bias fused): ours ${our.products.cpuMs.toFixed(0)} ms CPU, PyTorch ${torch.productsCpuMs.toFixed(0)} ms CPU, ${(our.products.cpuMs / torch.productsCpuMs).toFixed(2)}×: most of either request`);
    const { maxAbsDiff, maxAbs } = difference(our.acts, torch.acts);
    console.log(`feature activations [${SEQ} × 24576]: max |ours − PyTorch| ${maxAbsDiff.toExponential(2)} (largest activation ${maxAbs.toFixed(3)})`);
  }
} finally {
  await fs.rm(dir, { recursive: true, force: true });
}

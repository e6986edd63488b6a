/**
 * `npm run bench:similar`: similar-features computation time (issue 14). Prints figures; not a test.
 *
 *   npm run bench:similar [-- --features 24576] [--d 768] [--k 10] [--chunk 1024] [--reverse]
 *
 * A synthetic decoder of seeded Gaussian rows (24,576 × 768 by default, the GPT-2-small SAEs' size): the time for each
 * row's k nearest other rows by cosine within it (compute/analyses/similar-features.ts, as the dashboards job runs
 * it), and the process's peak RSS. --reverse times the cross-SAE case instead: its rows against a second decoder of
 * the same size, both directions from the same blocks.
 * The backend is the worker's choice (initBackend: LEXICON_TF_BACKEND, else the best available).
 */
import { resourceUsage } from 'node:process';
import * as tf from '@tensorflow/tfjs-core';
import { cosineNeighbours } from '@/compute/analyses/similar-features';
import { initBackend } from '@/compute/backend';
import { gaussian, seededRandom } from '@/compute/random';
import { flag, integer } from './options';

const FEATURES = integer('features', 24576);
const D = integer('d', 768);
const K = integer('k', 10);
const CHUNK = integer('chunk', 1024);
const REVERSE = flag('reverse');

const mb = (bytes: number) => `${(bytes / 2 ** 20).toFixed(0)} MB`;

const backend = await initBackend();
const random = seededRandom(0);
const decoder = tf.tensor2d(gaussian(random, FEATURES * D), [FEATURES, D]);
const other = REVERSE ? tf.tensor2d(gaussian(random, FEATURES * D), [FEATURES, D]) : null;
console.log(`backend ${backend}; decoder ${FEATURES} × ${D} float32 (${mb(FEATURES * D * 4)}), k = ${K}, blocks of ${CHUNK} rows`);
console.log(REVERSE ? 'against a second decoder of the same size, both directions' : 'within the decoder (each row itself left out)');
const rssBefore = process.memoryUsage().rss;
const started = performance.now();
let lastReport = started;
const { ofA } = await cosineNeighbours(decoder, other, {
  k: K,
  chunkRows: CHUNK,
  reverse: REVERSE,
  onProgress: (done, total) => {
    if (performance.now() - lastReport < 10_000) return;
    lastReport = performance.now();
    console.log(`  ${done} / ${total} rows after ${((lastReport - started) / 1000).toFixed(1)} s`);
  },
});
const seconds = (performance.now() - started) / 1000;
console.log(`time: ${seconds.toFixed(1)} s (${((FEATURES / seconds) | 0).toLocaleString('en')} rows/s)`);
console.log(`RSS before: ${mb(rssBefore)}; peak RSS: ${mb(resourceUsage().maxRSS * 1024)}`);
console.log(`row 0's nearest: ${ofA.indices[0]} (cosine ${ofA.cosines[0]!.toFixed(3)})`);
decoder.dispose();
other?.dispose();

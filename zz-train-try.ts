import { readFileSync } from 'node:fs';
import { initBackend } from './workers/backend';
import { loadModel } from './workers/model/load';
import { chunkIntoContexts, parseCorpusFile, tokenizeDocuments } from './workers/corpus/contexts';
import { collectHookActivations } from './workers/analyses/activations-at-hook';
import { trainSae } from './workers/sae/train';
import * as tf from '@tensorflow/tfjs-core';
await initBackend();
const m = await loadModel('/work/shared/models/stories260K');
const docs = tokenizeDocuments(await parseCorpusFile('tests/unit/fixtures/short-stories.txt'), m.tokenizer);
const contexts = chunkIntoContexts(docs, { contextSize: 64, prependBos: true, bosId: 1 });
console.log('contexts', contexts.length);
let t0 = performance.now();
const chunks: Float32Array[] = [];
for await (const c of collectHookActivations(m, contexts, 'blocks.1.hook_resid_post')) chunks.push(c);
const n = chunks.reduce((a, c) => a + c.length, 0);
const data = new Float32Array(n); let o = 0; for (const c of chunks) { data.set(c, o); o += c.length; }
console.log('collect', (performance.now() - t0).toFixed(0), 'ms rows', n / 64);
const arch = (process.argv[2] ?? 'standard') as 'standard' | 'topk';
const steps = Number(process.argv[3] ?? 300);
t0 = performance.now();
const res = await trainSae({ activations: data, dIn: 64, dSae: 256, architecture: arch, k: 16, batchSize: Number(process.argv[4] ?? 512), steps, seed: 1, lr: Number(process.argv[5] ?? 1e-3),
  onProgress: (p) => { if (p.step % 50 === 0 || p.step === 1) console.log(JSON.stringify(p)); } });
const sec = (performance.now() - t0) / 1000;
console.log('train', sec.toFixed(1), 's', (steps / sec).toFixed(1), 'steps/s', JSON.stringify({ ...res.metrics, featureDensity: undefined }), 'resampled', res.resampled, 'tensors', tf.memory().numTensors);

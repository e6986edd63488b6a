/**
 * SAEDashboard's NeuronpediaRunner output (docs/formats.md#saedashboard-output): a folder of `batch-N.json` files, each
 * one JSON object { model_id, layer, sae_set, sae_id_suffix?, features: [...] } whose features carry the same fields
 * as a Neuronpedia export's (snake_case, `feature_index`) with their `activations` inside. Stored like a Neuronpedia
 * import (./neuronpedia-store.ts); it has no explanations.
 */
import path from 'node:path';
import { InputError } from '@/compute/errors';
import { withTransaction, type Db } from '../db';
import type { ImportOutcome, ImportRequest } from './index';
import { featureIndex, number, numbers, object, optionalNumber, optionalString, strings, type Fields } from './neuronpedia-fields';
import { batchFiles, hashFiles, jsonFile, type At } from './neuronpedia-files';
import type { ImportedActivation } from './activation-batch';
import { ImportRun, type ImportedFeature } from './neuronpedia-store';
import { currentImport, targetSae } from './target-sae';

export async function importSaeDashboard(db: Db, request: ImportRequest): Promise<ImportOutcome> {
  const dir = path.resolve(request.location);
  const files = await batchFiles(dir, '.json');
  if (files.length === 0) throw new InputError(`${request.location} has no batch-N.json: not the output folder of SAEDashboard's NeuronpediaRunner`);
  const first = object(await jsonFile(dir, files[0]!), { file: path.basename(files[0]!), line: 'top level' });
  const named = sourceNames(first, { file: path.basename(files[0]!), line: 'top level' });
  const sae = await targetSae(db, request.sae, named);
  const inputsHash = await hashFiles(dir, files);
  const names = { model: sae.modelSlug, sae: sae.slug };
  const already = await currentImport(db, sae, inputsHash);
  if (already) return { unchanged: true, ...names, runId: already };
  const weights = (await request.weights?.(sae)) ?? null;
  const summary = await withTransaction(async (tx, client) => {
    let run: ImportRun | null = null;
    let done = 0;
    for (const [filesDone, file] of files.entries()) {
      await request.onProgress?.({ phase: 'features', done, files: files.length, filesDone, vectors: run?.vectorCounts });
      const name = path.relative(dir, file);
      const batch = object(await jsonFile(dir, file), { file: name, line: 'top level' });
      const list = batch.features;
      if (!Array.isArray(list)) throw new InputError(`${name}: "features" must be a list`);
      for (const [i, value] of list.entries()) {
        const at = { file: name, line: `features[${i}]` };
        const o = object(value, at);
        const feature = parseFeature(o, at);
        // the run states the tokens its first feature was measured over (every feature of a runner's output shares them)
        run ??= await ImportRun.begin(tx, client, sae, { kind: 'saedashboard', path: request.location, ...named, nTokensStated: feature.nTokens, inputsHash }, weights);
        const activations = o.activations ?? [];
        if (!Array.isArray(activations)) throw new InputError(`${name} features[${i}]: "activations" must be a list`);
        const batcher = run.batcher(name);
        for (const [k, a] of activations.entries()) {
          const aAt = { file: name, line: `features[${i}].activations[${k}]` };
          batcher.add(parseActivation(object(a, aAt), feature.index, aAt), aAt);
        }
        await run.activations(batcher.take());
        await run.feature(feature, at);
        done++;
      }
    }
    if (!run) throw new InputError(`${request.location}: the batch files hold no features`);
    await request.onProgress?.({ phase: 'finishing', done, files: files.length, filesDone: files.length, vectors: run.vectorCounts });
    return run.finish();
  });
  return { unchanged: false, ...names, ...summary };
}

/** Neuronpedia's source id for the runner's output: "<layer>-<sae_set>[__<sae_id_suffix>]". */
function sourceNames(batch: Fields, at: At): { modelId: string | null; sourceId: string | null } {
  const layer = optionalNumber(batch, 'layer', at);
  const set = optionalString(batch, 'sae_set', at);
  const suffix = optionalString(batch, 'sae_id_suffix', at);
  return {
    modelId: optionalString(batch, 'model_id', at),
    sourceId: layer !== null && set ? `${layer}-${set}${suffix ? `__${suffix}` : ''}` : null,
  };
}

function parseFeature(o: Fields, at: At): ImportedFeature {
  const prompts = optionalNumber(o, 'n_prompts_total', at);
  const perPrompt = optionalNumber(o, 'n_tokens_in_prompt', at);
  return {
    index: featureIndex(o, 'feature_index', at),
    nTokens: prompts !== null && perPrompt !== null ? prompts * perPrompt : null,
    fracNonzero: number(o, 'frac_nonzero', at),
    maxActApprox: null,
    activationHistogram: { values: numbers(o, 'freq_hist_data_bar_values', at), heights: numbers(o, 'freq_hist_data_bar_heights', at) },
    logitHistogram: { values: numbers(o, 'logits_hist_data_bar_values', at), heights: numbers(o, 'logits_hist_data_bar_heights', at) },
    pos: { str: strings(o, 'pos_str', at), values: numbers(o, 'pos_values', at) },
    neg: { str: strings(o, 'neg_str', at), values: numbers(o, 'neg_values', at) },
    // the runner's output carries no decoder rows
    vector: [],
  };
}

function parseActivation(o: Fields, index: number, at: At): ImportedActivation {
  return {
    index,
    tokens: strings(o, 'tokens', at),
    values: numbers(o, 'values', at),
    maxValue: null,
    maxValueTokenIndex: null,
    binMin: optionalNumber(o, 'bin_min', at),
    binMax: optionalNumber(o, 'bin_max', at),
    binContains: optionalNumber(o, 'bin_contains', at),
    qualifyingTokenIndex: optionalNumber(o, 'qualifying_token_index', at),
    lossValues: numbers(o, 'loss_values', at),
  };
}

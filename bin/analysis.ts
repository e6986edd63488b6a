import path from 'node:path';
import { checkSaeForModel } from '../compute/analyses/common';
import { COMPOSE_MODES, type Compose, type FeatureDirection } from '../compute/analyses/direction';
import { initBackend } from '../compute/backend';
import { loadModel } from '../compute/model/load';
import type { LanguageModel } from '../compute/model/types';
import { loadSae } from '../compute/sae/load';
import type { Sae } from '../compute/sae/sae';
import { choice, integerList, requiredString, UsageError, type Options, type Values } from './args';

/** What the SAE analysis commands (compute/analyses/*) share: each loads a model and an SAE from their directories. */

export const MODEL_AND_SAE: Options = {
  model: { type: 'string' },
  sae: { type: 'string' },
  json: { type: 'boolean' },
};
export const DIRECTION_OPTIONS: Options = {
  feature: { type: 'string' },
  features: { type: 'string' },
  compose: { type: 'string' },
};
export const PROMPT_USAGE = '(--text TEXT | --token-ids 1,2,3)';
export const DIRECTION_USAGE = '(--feature F | --features 3,17 --compose mean|sum)';

/** Loads the model and the SAE, checks that the SAE fits the model, runs `analyse`, and disposes both. */
export async function withModelAndSae(values: Values, analyse: (model: LanguageModel, sae: Sae) => void | Promise<void>): Promise<void> {
  const modelDir = requiredString(values, 'model');
  const saeDir = requiredString(values, 'sae');
  await initBackend();
  const model = await loadModel(path.resolve(modelDir));
  try {
    const sae = await loadSae(path.resolve(saeDir));
    try {
      checkSaeForModel(model, sae);
      await analyse(model, sae);
    } finally {
      sae.dispose();
    }
  } finally {
    model.dispose();
  }
}

/** The result as one JSON object with --json, else the readable text. */
export function print(values: Values, result: unknown, readable: () => string): void {
  console.log(values.json ? JSON.stringify(result) : readable());
}

export function fixed(value: number): string {
  return value.toFixed(4);
}

export function featureIndex(values: Values): number {
  const [feature, ...rest] = integerList(requiredString(values, 'feature'), 'feature');
  if (rest.length > 0) throw new UsageError('--feature takes one feature; use --features 3,17 --compose mean|sum for several');
  return feature;
}

export function composeMode(values: Values): Compose {
  return choice(values, 'compose', COMPOSE_MODES);
}

/** --feature F, or --features 3,17 with --compose for a composed direction. */
export function featureDirection(values: Values): FeatureDirection {
  if ((values.feature === undefined) === (values.features === undefined)) throw new UsageError('give exactly one of --feature and --features');
  if (values.feature !== undefined) {
    if (values.compose !== undefined) throw new UsageError('--compose combines --features, not a single --feature');
    return featureIndex(values);
  }
  if (values.compose === undefined) throw new UsageError('--features needs --compose mean|sum to combine them into one direction');
  return { features: integerList(values.features as string, 'features'), compose: composeMode(values) };
}

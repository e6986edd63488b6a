import type { Command } from '../args';
import { ablate } from './ablate';
import { activations } from './activations';
import { corpusImport } from './corpus-import';
import { corpusList } from './corpus-list';
import { corpusSample } from './corpus-sample';
import { dashboards } from './dashboards';
import { demo } from './demo';
import { dfa } from './dfa';
import { exportCommand } from './export';
import { featureStats } from './feature-stats';
import { help } from './help';
import { importCommand } from './import';
import { logitWeights } from './logit-weights';
import { modelAdd } from './model-add';
import { run } from './run';
import { saeAdd } from './sae-add';
import { steer } from './steer';
import { trainSae } from './train-sae';

/** Every `lexicon` command, in the order `lexicon help` lists them; a new command is a module and one more entry. */
export const COMMANDS: readonly Command[] = [
  run,
  modelAdd,
  saeAdd,
  activations,
  logitWeights,
  dfa,
  ablate,
  steer,
  featureStats,
  trainSae,
  corpusImport,
  corpusSample,
  corpusList,
  dashboards,
  importCommand,
  exportCommand,
  demo,
  help,
];

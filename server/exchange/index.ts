/**
 * What leaves and enters the wiki in other formats (`lexicon import|export --format F`, and the import job). Each
 * format is one entry of IMPORT_FORMATS / EXPORT_FORMATS; a new format is its module and one more entry.
 */
import { InputError } from '@/compute/errors';
import type { Db } from '../db';
import type { SaeRow } from '../saes';
import { exportNeuronpedia, importNeuronpedia } from './neuronpedia';
import type { ImportProgress, ImportSummary, WeightStats } from './neuronpedia-store';
import { importSaeDashboard } from './saedashboard';

export interface ImportRequest {
  /** a directory, or a base URL (http, https) laid out the same way */
  location: string;
  /** the target SAE as MODEL/SAE; default: the one the export names */
  sae?: string;
  /** the SAE's weight statistics, which the layouts do not carry (null: leave them 0) */
  weightStats?: (sae: SaeRow) => Promise<WeightStats[] | null>;
  onProgress?: (progress: ImportProgress) => void | Promise<void>;
}

export type ImportOutcome =
  | ({ unchanged: false; model: string; sae: string } & ImportSummary)
  /** the SAE's current run was imported from the same files: nothing to do */
  | { unchanged: true; model: string; sae: string; runId: string };

export interface ExportRequest {
  /** MODEL/SAE */
  sae: string;
  dir: string;
}

export interface ExportSummary {
  dir: string;
  features: number;
  examples: number;
  explanations: number;
}

export const IMPORT_FORMATS: Record<string, (db: Db, request: ImportRequest) => Promise<ImportOutcome>> = {
  neuronpedia: importNeuronpedia,
  saedashboard: importSaeDashboard,
};

export const EXPORT_FORMATS: Record<string, (db: Db, request: ExportRequest) => Promise<ExportSummary>> = {
  neuronpedia: exportNeuronpedia,
};

export function formatOf<T>(formats: Record<string, T>, name: string): T {
  const format = Object.hasOwn(formats, name) ? formats[name] : undefined;
  if (!format) throw new InputError(`unknown format "${name}": one of ${Object.keys(formats).join(', ')}`);
  return format;
}

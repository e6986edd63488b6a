/**
 * What leaves and enters the wiki in other formats (`lexicon import|export --format F`, and the import job). Each
 * format is one entry of IMPORT_FORMATS / EXPORT_FORMATS, of one of two scopes: `wiki` (everything people made, the
 * Lexicon exchange format) or `sae` (one SAE's dashboards and explanations); a new format is its module and one more
 * entry.
 */
import type { Db } from '../db';
import type { SaeRow } from '../saes';
import { exportLexicon, importLexicon, type ExchangeOptions } from './lexicon-format';
import { exportNeuronpedia, importNeuronpedia } from './neuronpedia';
import type { ImportProgress, ImportSummary, SaeWeights } from './neuronpedia-store';
import { importSaeDashboard } from './saedashboard';

export interface ImportRequest {
  /** a directory, or a base URL (http, https) laid out the same way */
  location: string;
  /** the target SAE as MODEL/SAE; default: the one the export names */
  sae?: string;
  /**
   * The SAE's own weights: the statistics the layouts do not carry, and the decoder rows given vectors are checked
   * against (null: statistics 0, given vectors stored as the SAE's decoder rows).
   */
  weights?: (sae: SaeRow) => Promise<SaeWeights | null>;
  /** after the import committed, when it stored decoder rows (the CLI and the job compute similar features from them) */
  onDecoderStored?: (sae: SaeRow) => Promise<void>;
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
  /** explanation lines written: labels and label proposals */
  explanations: number;
  /** the features' decoder vectors written: from the SAE's weights, or (when they cannot be read here, and why) the stored rows */
  vectors: { written: number; from: 'weights' | 'stored'; unreadable?: string };
}

export type ImportFormat =
  | { scope: 'wiki'; run: (db: Db, dir: string, options?: ExchangeOptions) => Promise<Record<string, number>> }
  | { scope: 'sae'; run: (db: Db, request: ImportRequest) => Promise<ImportOutcome> };

export type ExportFormat =
  | { scope: 'wiki'; run: (db: Db, dir: string, options?: ExchangeOptions) => Promise<unknown> }
  | { scope: 'sae'; run: (db: Db, request: ExportRequest) => Promise<ExportSummary> };

export const IMPORT_FORMATS = {
  lexicon: { scope: 'wiki', run: importLexicon },
  neuronpedia: { scope: 'sae', run: importNeuronpedia },
  saedashboard: { scope: 'sae', run: importSaeDashboard },
} as const satisfies Record<string, ImportFormat>;

export const EXPORT_FORMATS = {
  lexicon: { scope: 'wiki', run: exportLexicon },
  neuronpedia: { scope: 'sae', run: exportNeuronpedia },
} as const satisfies Record<string, ExportFormat>;

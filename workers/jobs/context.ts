import type { ModelRow } from '@/server/models';
import type { Db } from '@/server/db';

export interface JobContext {
  db: Db;
  backend: string;
  /** reports progress in [0, 1] */
  progress(fraction: number): Promise<void>;
  model(id: string): Promise<{ row: ModelRow; model: import('../model/types').LanguageModel }>;
}

export interface JobOutput {
  result: unknown;
  /** content hashes of the inputs that make the result reproducible */
  inputs: Record<string, string>;
}

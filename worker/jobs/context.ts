import type { JobResult, JobType } from '@/jobs';
import type { LanguageModel } from '@/compute/model/types';
import type { Sae } from '@/compute/sae/sae';
import type { Db } from '@/server/db';
import type { ModelRow } from '@/server/models';
import type { SaeRow } from '@/server/saes';

export interface JobContext {
  db: Db;
  backend: string;
  jobId: string;
  /** the heartbeat id of the worker running it */
  workerId: string;
  /** aborted when the job is cancelled (noticed at the next progress report) */
  signal: AbortSignal;
  /** reports progress in [0, 1] with details for the page (phase, tokens/s, ETA) */
  progress(fraction: number, detail?: object): Promise<void>;
  model(id: string): Promise<{ row: ModelRow; model: LanguageModel }>;
  /** the SAE, loaded and checked against its model */
  sae(id: string): Promise<{ row: SaeRow; sae: Sae; modelRow: ModelRow; model: LanguageModel }>;
}

/** What a handler of kind T produces: its result (checked against the kind's schema when written) and its inputs. */
export interface JobOutput<T extends JobType> {
  result: JobResult<T>;
  /** content hashes of the inputs that make the result reproducible */
  inputs: Record<string, string>;
}

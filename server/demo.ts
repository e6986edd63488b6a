/**
 * The demo workspace (stories260K, a sampled corpus, SAEs at two hooks, their dashboards and evals): where its model
 * comes from, and when it is set up. The demo itself is a job (worker/jobs/demo.ts).
 */
import fs from 'node:fs';
import path from 'node:path';
import type PgBoss from 'pg-boss';
import { and, eq, inArray, sql } from 'drizzle-orm';
import { jobs, saes } from '@/drizzle/schema';
import { InputError } from '@/compute/errors';
import { config } from './config';
import type { Db } from './db';
import { downloadFile } from './download';
import { enqueueJob, type JobRow } from './jobs';
import type { JobParams } from '@/jobs';

export const DEMO_MODEL = 'stories260K';

/** The llama2.c checkpoint and tokenizer, as published (sha256 from shared/models/stories260K/README.md). */
export const STORIES260K_FILES = [
  { name: 'stories260K.bin', bytes: 1_056_540, sha256: 'b0a507e7ad0f626624f17112325e66691f9076d622e1d3274d103d00299f2696' },
  { name: 'tok512.bin', bytes: 6_227, sha256: '037cb335abb25d1fa9e8ecae30ed2a3a8ace9302862ebcdc05d51a6bbb10c312' },
] as const;

/** Where the files are downloaded from (LEXICON_STORIES260K_URL points at a mirror of the folder). */
export function stories260KBaseUrl(): string {
  return process.env.LEXICON_STORIES260K_URL ?? 'https://huggingface.co/karpathy/tinyllamas/resolve/main/stories260K';
}

export interface DemoModelLocation {
  dir: string;
  /** found on disk, or downloaded now */
  how: 'found' | 'downloaded';
}

/**
 * The stories260K directory: `<modelsDir>/stories260K` when it holds both files; else the files are downloaded
 * into `<dataDir>/models/stories260K`, checked against their sha256. Without network (and no local copy) the error
 * says which files to put where.
 */
export async function ensureDemoModel(
  options: { modelsDir?: string; dataDir?: string; baseUrl?: string; log?: (line: string) => void } = {},
): Promise<DemoModelLocation> {
  const modelsDir = options.modelsDir ?? config.modelsDir;
  const dataDir = options.dataDir ?? config.dataDir;
  const log = options.log ?? (() => undefined);
  const local = path.join(modelsDir, DEMO_MODEL);
  if (hasModelFiles(local)) return { dir: local, how: 'found' };
  const target = path.join(dataDir, 'models', DEMO_MODEL);
  if (hasModelFiles(target)) return { dir: target, how: 'found' };

  const baseUrl = options.baseUrl ?? stories260KBaseUrl();
  try {
    fs.mkdirSync(target, { recursive: true });
    for (const file of STORIES260K_FILES) {
      const url = `${baseUrl}/${file.name}`;
      const how = await downloadFile(url, path.join(target, file.name), { expected: { algorithm: 'sha256', hex: file.sha256 } });
      if (how === 'downloaded') log(`downloaded ${url}`);
    }
  } catch (err) {
    const reason = (err as Error & { cause?: Error }).cause?.message ?? (err as Error).message;
    const where = local === target ? target : `${target} (or ${local})`;
    throw new InputError(
      `the demo needs the stories260K model, which is neither on disk nor downloadable here: ${reason}. ` +
        `Put stories260K.bin and tok512.bin (https://huggingface.co/karpathy/tinyllamas/tree/main/stories260K) into ${where}, ` +
        'then run `npm run demo`.',
    );
  }
  return { dir: target, how: 'downloaded' };
}

function hasModelFiles(dir: string): boolean {
  return STORIES260K_FILES.every((file) => fs.existsSync(path.join(dir, file.name)));
}

/**
 * Whether `npm start` should set up the demo: nothing has been set up (no SAE registered) and no demo job was
 * asked for before, except one that failed (e.g. the model was missing; a restart tries again). LEXICON_DEMO=0 turns it off.
 */
export async function demoWanted(db: Db): Promise<boolean> {
  if (process.env.LEXICON_DEMO === '0') return false;
  const [anySae] = await db.select({ id: saes.id }).from(saes).limit(1);
  if (anySae) return false;
  const [earlier] = await db
    .select({ n: sql<number>`count(*)::int` })
    .from(jobs)
    .where(and(eq(jobs.type, 'demo'), inArray(jobs.status, ['queued', 'running', 'done', 'cancelled'])));
  return (earlier?.n ?? 0) === 0;
}

/** Enqueues the demo job, unless one is already queued or running (that one is returned). */
export async function enqueueDemo(boss: PgBoss, db: Db, params: Partial<JobParams<'demo'>> = {}): Promise<{ job: JobRow; existing: boolean }> {
  const [active] = await db
    .select()
    .from(jobs)
    .where(and(eq(jobs.type, 'demo'), inArray(jobs.status, ['queued', 'running'])))
    .limit(1);
  if (active) return { job: active, existing: true };
  const job = await enqueueJob(boss, { type: 'demo', params: params as JobParams<'demo'>, userId: null, modelId: null });
  return { job, existing: false };
}

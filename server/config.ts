/** Configuration from the environment, in one place (README "Configuration" lists these). */
import os from 'node:os';
import path from 'node:path';
import { wholeNumberSetting } from './env';

const dataDir = path.resolve(process.env.LEXICON_DATA_DIR ?? '.data');

export const config = {
  /** embedded PostgreSQL data, the auth secret, downloaded models */
  dataDir,
  /** model directories registered at start */
  modelsDir: path.resolve(process.env.LEXICON_MODELS_DIR ?? path.join(dataDir, 'models')),
  /** an external PostgreSQL; when unset an embedded one is started */
  databaseUrl: process.env.DATABASE_URL,
  pgPort: process.env.LEXICON_PG_PORT ? Number(process.env.LEXICON_PG_PORT) : undefined,
  port: Number(process.env.PORT ?? 3000),
  /** `next start` processes sharing the port (node:cluster); the web tier keeps no state of its own, so any may answer */
  webProcesses: wholeNumberSetting('LEXICON_WEB_PROCESSES', os.availableParallelism()),
  /** compute worker processes `npm start` runs (each single-threaded on wasm: one job at a time) */
  workers: wholeNumberSetting('LEXICON_WORKERS', 1),
  /** the Hugging Face Hub (or a mirror) that `hf:` addresses download from */
  hfEndpoint: process.env.HF_ENDPOINT ?? 'https://huggingface.co',
  /** sent as `Authorization: Bearer` to the Hub, for private and gated repositories */
  hfToken: process.env.HF_TOKEN,
  /** longest prompt, in characters, a run accepts (the model's context bounds tokens) */
  maxPromptChars: 20_000,
};


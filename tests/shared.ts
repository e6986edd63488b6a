import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** ../shared beside the repository: models and reference fixtures (read-only). */
export const SHARED_DIR = process.env.LEXICON_SHARED_DIR ?? path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../shared');
export const STORIES_DIR = path.join(SHARED_DIR, 'models/stories260K');
export const FIXTURES_DIR = path.join(SHARED_DIR, 'fixtures');

import { execFile } from 'node:child_process';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const LEXICON = fileURLToPath(new URL('../../bin/lexicon.mjs', import.meta.url));

/** Runs `node bin/lexicon.mjs ...args` from a directory outside the repository. */
export async function lexicon(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return lexiconWithEnv({}, ...args);
}

/** The same, with these environment variables added (a database, a data dir, a Hub endpoint). */
export async function lexiconWithEnv(env: Record<string, string>, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)('node', [LEXICON, ...args], { cwd: os.tmpdir(), env: { ...process.env, ...env } });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const { code, stdout, stderr } = err as { code: number; stdout: string; stderr: string };
    return { code, stdout, stderr };
  }
}

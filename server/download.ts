/**
 * Resumable, verified file downloads (Hugging Face files, the demo model). The bytes go to `<destination>.part`,
 * appended across dropped connections with an HTTP Range request, and the file takes its name only once its
 * hash matches; a wrong hash deletes the partial file.
 */
import { createHash, type Hash } from 'node:crypto';
import fs from 'node:fs';
import { InputError } from '@/compute/errors';

/** How a file is checked: sha256 of its bytes, or git's blob sha1 (the oid the Hub lists for a file not in LFS). */
export interface ExpectedHash {
  algorithm: 'sha256' | 'git-sha1';
  hex: string;
}

export interface DownloadProgress {
  file: string;
  /** bytes on disk */
  done: number;
  total: number;
  /** bytes per second received in this call */
  rate: number;
}

export interface DownloadOptions {
  expected: ExpectedHash;
  /** the size the source lists; needed for a git blob hash, and lets a complete `.part` file skip the request */
  size?: number;
  headers?: Record<string, string>;
  onProgress?: (progress: DownloadProgress) => void;
}

/** connections that may drop before a download gives up (each resumes where the last one stopped) */
const ATTEMPTS = 5;
/** a connection silent this long is taken for dropped (and resumed) */
const IDLE_TIMEOUT_MS = 60_000;

export async function fileHash(file: string, algorithm: ExpectedHash['algorithm']): Promise<string> {
  const hash = newHash(algorithm, fs.statSync(file).size);
  for await (const chunk of fs.createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

function newHash(algorithm: ExpectedHash['algorithm'], size: number): Hash {
  if (algorithm === 'sha256') return createHash('sha256');
  return createHash('sha1').update(`blob ${size}\0`);
}

/**
 * Downloads `url` to `destination` unless a file with the expected hash is already there. Returns whether bytes were
 * fetched. Errors name the URL (and, for a wrong hash, both hashes).
 */
export async function downloadFile(url: string, destination: string, options: DownloadOptions): Promise<'found' | 'downloaded'> {
  const { expected } = options;
  const name = expected.algorithm === 'sha256' ? 'sha256' : 'git blob sha1';
  if (fs.existsSync(destination) && (await fileHash(destination, expected.algorithm)) === expected.hex) return 'found';
  if (expected.algorithm === 'git-sha1' && options.size === undefined) throw new Error(`${url}: a git blob hash needs the file's size`);

  const part = `${destination}.part`;
  let done = fs.existsSync(part) ? fs.statSync(part).size : 0;
  if (options.size !== undefined && done > options.size) {
    fs.rmSync(part);
    done = 0;
  }
  // The hash covers the bytes already on disk, then every chunk appended.
  const hash = newHash(expected.algorithm, options.size ?? 0);
  if (done > 0) for await (const chunk of fs.createReadStream(part)) hash.update(chunk as Buffer);

  const started = Date.now();
  let received = 0;
  for (let attempt = 1; ; attempt++) {
    if (options.size !== undefined && done === options.size) break;
    try {
      await fetchInto(url, part, done, options, (chunk) => {
        hash.update(chunk);
        done += chunk.length;
        received += chunk.length;
        options.onProgress?.({ file: destination, done, total: options.size ?? done, rate: received / Math.max((Date.now() - started) / 1000, 1e-3) });
      });
      // more bytes than listed is a wrong file: the hash check below says so
      if (options.size === undefined || done >= options.size) break;
      throw new Error(`connection closed after ${done} of ${options.size} bytes`);
    } catch (err) {
      if (err instanceof HttpStatusError || attempt >= ATTEMPTS) {
        throw new InputError(`${url}: download failed (${(err as Error).message}); ${done} bytes kept in ${part}, a new run resumes from there`);
      }
    }
  }

  const actual = hash.digest('hex');
  if (actual !== expected.hex) {
    fs.rmSync(part, { force: true });
    throw new InputError(`${url}: the downloaded file's ${name} is ${actual}, the source lists ${expected.hex}; deleted ${part}`);
  }
  fs.renameSync(part, destination);
  return 'downloaded';
}

class HttpStatusError extends Error {}

/** One request for the bytes from `offset` on, appended to `part` as they arrive. */
async function fetchInto(
  url: string,
  part: string,
  offset: number,
  options: DownloadOptions,
  onChunk: (chunk: Uint8Array) => void,
): Promise<void> {
  const headers: Record<string, string> = { ...options.headers };
  if (offset > 0) headers.Range = `bytes=${offset}-`;
  const controller = new AbortController();
  let idle = setTimeout(() => controller.abort(), IDLE_TIMEOUT_MS);
  try {
    const response = await fetch(url, { headers, redirect: 'follow', signal: controller.signal });
    if (response.status === 401 || response.status === 403) {
      throw new HttpStatusError(`HTTP ${response.status}: not allowed (a private or gated repository needs HF_TOKEN)`);
    }
    if (!response.ok || !response.body) throw new HttpStatusError(`HTTP ${response.status}`);
    if (offset > 0 && response.status !== 206) {
      throw new HttpStatusError(`asked for the bytes from ${offset} on, the server answered ${response.status} instead of 206`);
    }
    const out = await fs.promises.open(part, 'a');
    try {
      for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
        clearTimeout(idle);
        idle = setTimeout(() => controller.abort(), IDLE_TIMEOUT_MS);
        await out.write(chunk);
        onChunk(chunk);
      }
    } finally {
      await out.close();
    }
  } finally {
    clearTimeout(idle);
  }
}

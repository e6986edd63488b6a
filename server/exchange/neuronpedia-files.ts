/**
 * Reading an export's files: the batch files of a folder in batch order, their content hash, JSON lines from gzip
 * streams (line by line, so memory stays bounded), and a base URL fetched into a temporary directory first.
 */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { InputError } from '@/compute/errors';

/** `batch-N<suffix>` files of `dir` in N order (none when the folder is missing). */
export async function batchFiles(dir: string, suffix: string): Promise<string[]> {
  const names = await fs.readdir(dir).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return [] as string[];
    throw err;
  });
  const batch = new RegExp(`^batch-(\\d+)${suffix.replace(/\./g, '\\.')}$`);
  return names
    .map((name) => ({ name, n: batch.exec(name)?.[1] }))
    .filter((f): f is { name: string; n: string } => f.n !== undefined)
    .sort((a, b) => Number(a.n) - Number(b.n))
    .map((f) => path.join(dir, f.name));
}

/** sha256 over the files' names (relative to `root`) and bytes, in the order given. */
export async function hashFiles(root: string, files: string[]): Promise<string> {
  const hash = createHash('sha256');
  for (const file of files) {
    hash.update(`${path.relative(root, file)}\0`);
    for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  }
  return hash.digest('hex');
}

/** Where a value came from, for error messages: "activations/batch-0.jsonl.gz line 17", "batch-0.json features[3]". */
export interface At {
  file: string;
  /** a line number, or the path of the value inside a whole-file JSON document */
  line: number | string;
}

export const where = (at: At) => `${at.file} ${typeof at.line === 'number' ? `line ${at.line}` : at.line}`;

/** Bytes gunzipped at a time: larger than zlib's 16 KiB default, so fewer chunks pass through the stream. */
const GUNZIP_CHUNK = 1 << 18;

/**
 * Each line of a gzipped file as bytes, with its number (blank ones too, so numbers count every line). A gzip stream
 * that is cut short or corrupt is an InputError naming the file (relative to `root`) and the last line read. Lines are
 * split here rather than by readline, which costs as much as the gunzip, and stay bytes: activation lines are read
 * from them without decoding (./activation-scan.ts).
 */
export async function* byteLines(root: string, file: string): AsyncGenerator<{ bytes: Buffer; at: At }> {
  const name = path.relative(root, file);
  const input = createReadStream(file).pipe(createGunzip({ chunkSize: GUNZIP_CHUNK }));
  let line = 0;
  /** the start of a line whose end has not come yet */
  let pending: Buffer[] = [];
  try {
    for await (const chunk of input as AsyncIterable<Buffer>) {
      let start = 0;
      for (let end = chunk.indexOf(NEWLINE); end >= 0; start = end + 1, end = chunk.indexOf(NEWLINE, start)) {
        const bytes = pending.length > 0 ? Buffer.concat([...pending, chunk.subarray(start, end)]) : chunk.subarray(start, end);
        pending = [];
        yield { bytes, at: { file: name, line: ++line } };
      }
      if (start < chunk.length) pending.push(chunk.subarray(start));
    }
    if (pending.length > 0) yield { bytes: Buffer.concat(pending), at: { file: name, line: ++line } };
  } catch (err) {
    if (err instanceof InputError) throw err;
    throw new InputError(`${name}: the gzip stream is truncated or corrupt after line ${line} (${(err as Error).message})`);
  } finally {
    input.destroy();
  }
}

const NEWLINE = 0x0a;

/** The JSON value of a line of bytes, or undefined for a blank line; text that is not JSON is an InputError naming the line. */
export function jsonLine(bytes: Buffer, at: At): unknown {
  const text = bytes.toString('utf8');
  if (text.trim() === '') return undefined;
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new InputError(`${where(at)}: not JSON (${(err as Error).message})`);
  }
}

/** The JSON value on each non-blank line of a gzipped file (byteLines: the errors it names). */
export async function* jsonLines(root: string, file: string): AsyncGenerator<{ value: unknown; at: At }> {
  for await (const { bytes, at } of byteLines(root, file)) {
    const value = jsonLine(bytes, at);
    if (value !== undefined) yield { value, at };
  }
}

/** A JSON file read whole (SAEDashboard writes one JSON object per batch file). */
export async function jsonFile(root: string, file: string): Promise<unknown> {
  const text = await fs.readFile(file, 'utf8');
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new InputError(`${path.relative(root, file)}: not JSON (${(err as Error).message})`);
  }
}

/**
 * Fetches `<base>/<folder>/batch-0<suffix>`, `batch-1…` until one is missing (404), and each of `singles`, into a
 * temporary directory laid out like the export; `fn` reads it there, and the directory goes afterwards.
 */
export async function withDownloadedExport<T>(
  base: string,
  layout: { batches: { folder: string; suffix: string }[]; singles: string[] },
  fn: (dir: string) => Promise<T>,
): Promise<T> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'lexicon-import-'));
  try {
    const url = (rel: string) => `${base.replace(/\/+$/, '')}/${rel}`;
    const fetchTo = async (rel: string): Promise<boolean> => {
      const response = await fetch(url(rel));
      if (response.status === 404) return false;
      if (!response.ok || !response.body) throw new InputError(`${url(rel)}: HTTP ${response.status} ${response.statusText}`);
      await fs.mkdir(path.dirname(path.join(dir, rel)), { recursive: true });
      await pipeline(Readable.fromWeb(response.body as import('node:stream/web').ReadableStream), createWriteStream(path.join(dir, rel)));
      return true;
    };
    for (const { folder, suffix } of layout.batches) {
      for (let n = 0; await fetchTo(`${folder}/batch-${n}${suffix}`); n++);
    }
    for (const single of layout.singles) await fetchTo(single);
    return await fn(dir);
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}

export const isUrl = (location: string) => /^https?:\/\//i.test(location);

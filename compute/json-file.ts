/** Reading the JSON files that model, tokenizer and SAE directories carry, with errors that name the file. */
import { readFile } from 'node:fs/promises';
import { InputError } from './errors';

export type JsonObject = Record<string, unknown>;

/** The file's parsed JSON, or undefined when there is no such file (the caller knows whether that is an error). */
export async function readJsonFile(file: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new InputError(`${file}: not valid JSON (${(err as Error).message})`);
  }
}

/** Like readJsonFile, for files whose top level must be an object. */
export async function readJsonObject(file: string): Promise<JsonObject | undefined> {
  const json = await readJsonFile(file);
  if (json === undefined) return undefined;
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new InputError(`${file}: not a JSON object`);
  return json as JsonObject;
}

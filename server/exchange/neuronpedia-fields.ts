/**
 * Reading fields of an export's JSON objects, each failure an InputError naming the file, the line and the field.
 * Hand-written rather than a schema library: an import reads millions of example lines, and these checks cost little.
 */
import { InputError } from '@/compute/errors';
import { where, type At } from './neuronpedia-files';

export type Fields = Record<string, unknown>;

export function object(value: unknown, at: At): Fields {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new InputError(`${where(at)}: expected a JSON object`);
  return value as Fields;
}

const fail = (at: At, key: string, what: string): never => {
  throw new InputError(`${where(at)}: "${key}" must be ${what}`);
};

export function number(o: Fields, key: string, at: At): number {
  const v = o[key];
  return typeof v === 'number' && Number.isFinite(v) ? v : fail(at, key, 'a finite number');
}

/** Absent or null: null. */
export function optionalNumber(o: Fields, key: string, at: At): number | null {
  return o[key] === undefined || o[key] === null ? null : number(o, key, at);
}

export function string(o: Fields, key: string, at: At): string {
  const v = o[key];
  return typeof v === 'string' ? v : fail(at, key, 'a string');
}

export function optionalString(o: Fields, key: string, at: At): string | null {
  return o[key] === undefined || o[key] === null ? null : string(o, key, at);
}

/** Absent: an empty list (the layouts leave out what a source did not compute). */
export function numbers(o: Fields, key: string, at: At): number[] {
  const v = o[key];
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'number' && Number.isFinite(x))) fail(at, key, 'a list of finite numbers');
  return v as number[];
}

export function strings(o: Fields, key: string, at: At): string[] {
  const v = o[key];
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) fail(at, key, 'a list of strings');
  return v as string[];
}

/** A feature index: Neuronpedia writes it as a string ("17"), SAEDashboard as a number. */
export function featureIndex(o: Fields, key: string, at: At): number {
  const v = o[key];
  const n = typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : v;
  return typeof n === 'number' && Number.isSafeInteger(n) ? n : fail(at, key, 'a feature index (a whole number)');
}

/**
 * Keyset page cursors for lists ordered by (created_at, id) descending: the last row's timestamp as PostgreSQL prints
 * it (`created_at::text`, microseconds kept, so rows created in the same millisecond are not skipped) and its id,
 * opaque to the client.
 */
import { DomainError } from './errors';

export const encodeCursor = (at: string, id: string) => Buffer.from(`${at}|${id}`).toString('base64url');

export class BadCursor extends DomainError {
  constructor() {
    super('bad-input', 'the page cursor is not valid: start again from the first page');
  }
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const TIMESTAMP = /^(\d{4})-(\d\d)-(\d\d) (\d\d):(\d\d):(\d\d)(?:\.\d{1,6})?[+-](\d\d)(?::(\d\d))?$/;

/**
 * The cursor's timestamp and id; BadCursor (bad input) for anything PostgreSQL would not take as a timestamptz and
 * a uuid, so a forged cursor never reaches a query (where it would fail as an internal error).
 */
export function decodeCursor(cursor: string): { at: string; id: string } {
  if (typeof cursor !== 'string' || cursor.length > 200 || !/^[A-Za-z0-9_-]*$/.test(cursor)) throw new BadCursor();
  const parts = Buffer.from(cursor, 'base64url').toString().split('|');
  const [at, id] = parts;
  if (parts.length !== 2 || !at || !id || !UUID.test(id)) throw new BadCursor();
  const m = TIMESTAMP.exec(at);
  if (!m) throw new BadCursor();
  const [year, month, day, hour, minute, second, offsetHours, offsetMinutes] = m.slice(1).map((v) => Number(v ?? 0));
  const daysInMonth = new Date(Date.UTC(year!, month!, 0)).getUTCDate();
  if (year! < 1 || month! < 1 || month! > 12 || day! < 1 || day! > daysInMonth || hour! > 23 || minute! > 59 || second! > 59 || offsetHours! > 15 || offsetMinutes! > 59)
    throw new BadCursor();
  return { at, id };
}

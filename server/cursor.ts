/**
 * Keyset page cursors for lists ordered by (created_at, id) descending: the last row's timestamp as PostgreSQL prints
 * it (`created_at::text`, microseconds kept, so rows created in the same millisecond are not skipped) and its id,
 * opaque to the client.
 */
import { TRPCError } from '@trpc/server';

export const encodeCursor = (at: string, id: string) => Buffer.from(`${at}|${id}`).toString('base64url');

export class BadCursor extends TRPCError {
  constructor() {
    super({ code: 'BAD_REQUEST', message: 'the page cursor is not valid: start again from the first page' });
  }
}

export function decodeCursor(cursor: string): { at: string; id: string } {
  const [at, id] = Buffer.from(cursor, 'base64url').toString().split('|');
  if (!at || !id || !/^[0-9a-f-]{36}$/.test(id) || !/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d{1,6})?[+-]\d\d(:\d\d)?$/.test(at)) throw new BadCursor();
  return { at, id };
}

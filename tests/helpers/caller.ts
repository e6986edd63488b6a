/** The tRPC API called in-process, as a request from a signed-in user (or an anonymous visitor) would reach it. */
import { createCaller } from '@/server/api/root';
import type { Context } from '@/server/api/trpc';
import { viewerOf } from '@/server/authz';
import { getDb } from '@/server/db';
import type { UserRow } from '@/server/users';

type Account = Pick<UserRow, 'id' | 'role' | 'name' | 'email'>;

/** A caller acting as `user` (null: signed out); `host` is the request's, for pasted feature URLs of this site. */
export function callerFor(user: Account | null, opts: { host?: string; signal?: AbortSignal } = {}) {
  const session = user && { user: { id: user.id, role: user.role, name: user.name, email: user.email }, expires: '' };
  const headers = new Headers(opts.host ? { host: opts.host } : undefined);
  return createCaller({ db: getDb(), session, viewer: viewerOf(session), headers } as Context, { signal: opts.signal });
}

/** tRPC called directly from server components: one round trip, same validation and auth. */
import { headers } from 'next/headers';
import { cache } from 'react';
import { createCaller } from './root';
import { createContext } from './trpc';

export const api = cache(async () => createCaller(await createContext({ headers: await headers() })));

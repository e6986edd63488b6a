/**
 * zod as the job contract uses it: pages parse job results in the browser, whose Content-Security-Policy forbids
 * eval, so zod's compiled fast path stays off (and with it zod's probe for eval, which the browser reports even
 * though zod catches it). Schemas are built when their module loads: every schema in jobs/ takes z from here.
 */
import { z } from 'zod';

z.config({ jitless: true });

export { z };

/**
 * The web tier as `npm start` runs it: `next start` in several processes sharing one port through node:cluster (the
 * calling process opens the port and hands the connections round). The benchmarks start it the same way.
 */
import cluster from 'node:cluster';
import type { ChildProcess } from 'node:child_process';
import path from 'node:path';

const ROOT = path.resolve(import.meta.dirname, '..');

export function forkWebProcesses(options: {
  count: number;
  port: number;
  host?: string;
  /** added to this process's environment */
  env: NodeJS.ProcessEnv;
  /** node's own flags for each (e.g. --cpu-prof) */
  nodeArgs?: string[];
  /** true: their stdout and stderr are pipes for the caller (else they write to ours) */
  silent?: boolean;
}): ChildProcess[] {
  cluster.setupPrimary({
    exec: path.join(ROOT, 'node_modules/next/dist/bin/next'),
    args: ['start', '-p', String(options.port), ...(options.host ? ['-H', options.host] : [])],
    execArgv: options.nodeArgs ?? [],
    cwd: ROOT,
    silent: options.silent ?? false,
  });
  return Array.from({ length: options.count }, () => cluster.fork(options.env).process);
}

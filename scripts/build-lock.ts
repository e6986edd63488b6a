/**
 * The lock that keeps two starts (e.g. test runs) from building into the same .next together: a directory (mkdir is
 * atomic) holding `owner`, the holder's pid and host, touched every few seconds while held.
 *
 * - It is released on every exit of the holder (a failed build, an exception, Ctrl-C): `release()`, and a process
 *   'exit' hook for the paths that never reach it.
 * - A lock whose owner is gone (its pid is dead on this host) is taken over at once; so is one whose owner stopped
 *   touching it (a reused pid, another machine on a shared disk) for `staleMs`, or a directory with no owner file
 *   that old (the holder died between mkdir and writing it).
 * - Whoever waits says so, naming the owner, and again every `reportEveryMs`.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface BuildLock {
  release(): void;
}

export interface LockOptions {
  /** where waiting and take-overs are reported (one line each) */
  log?: (line: string) => void;
  pollMs?: number;
  /** an owner that has not touched the lock for this long is gone */
  staleMs?: number;
  heartbeatMs?: number;
  reportEveryMs?: number;
}

interface Owner {
  pid: number;
  host: string;
  since: string;
}

const OWNER = 'owner';

function readOwner(dir: string): { owner?: Owner; touchedMs?: number } {
  const file = path.join(dir, OWNER);
  try {
    const stat = fs.statSync(file);
    return { owner: JSON.parse(fs.readFileSync(file, 'utf8')) as Owner, touchedMs: stat.mtimeMs };
  } catch {
    return {};
  }
}

/** Whether `pid` is a live process here (EPERM: alive, someone else's). */
export function pidAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Why the lock at `dir` may be taken over now, or undefined while its owner holds it. */
function staleReason(dir: string, staleMs: number): string | undefined {
  const { owner, touchedMs } = readOwner(dir);
  if (!owner) {
    const stat = fs.statSync(dir, { throwIfNoEntry: false });
    if (!stat) return 'gone'; // released meanwhile: just try again
    return Date.now() - stat.mtimeMs > staleMs ? 'it has no owner' : undefined;
  }
  if (owner.host === os.hostname() && !pidAlive(owner.pid)) return `its owner, pid ${owner.pid}, is no longer running`;
  if (touchedMs !== undefined && Date.now() - touchedMs > staleMs) return `its owner, pid ${owner.pid} on ${owner.host}, stopped touching it ${Math.round((Date.now() - touchedMs) / 1000)} s ago`;
  return undefined;
}

function tryTake(dir: string): boolean {
  try {
    fs.mkdirSync(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  }
  const owner: Owner = { pid: process.pid, host: os.hostname(), since: new Date().toISOString() };
  fs.writeFileSync(path.join(dir, OWNER), `${JSON.stringify(owner)}\n`);
  return true;
}

export async function acquireBuildLock(dir: string, options: LockOptions = {}): Promise<BuildLock> {
  const { log = () => undefined, pollMs = 500, staleMs = 60_000, heartbeatMs = 5_000, reportEveryMs = 30_000 } = options;
  const waitingSince = Date.now();
  let reported = 0;
  while (!tryTake(dir)) {
    const reason = staleReason(dir, staleMs);
    if (reason === 'gone') continue;
    if (reason) {
      // Read once more just before removing it: another waiter may have taken it over meanwhile.
      if (staleReason(dir, staleMs) === reason) {
        log(`taking over the build lock ${dir}: ${reason}`);
        fs.rmSync(dir, { recursive: true, force: true });
      }
      continue;
    }
    if (Date.now() - reported >= reportEveryMs) {
      const { owner } = readOwner(dir);
      const who = owner ? `pid ${owner.pid}${owner.host === os.hostname() ? '' : ` on ${owner.host}`}` : 'another process';
      const waited = reported === 0 ? '' : ` (waited ${Math.round((Date.now() - waitingSince) / 1000)} s so far)`;
      log(`waiting for another start (${who}) to finish building the web app; lock ${dir}${waited}`);
      reported = Date.now();
    }
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }

  const ownerFile = path.join(dir, OWNER);
  const heartbeat = setInterval(() => {
    const now = new Date();
    try {
      fs.utimesSync(ownerFile, now, now);
    } catch {
      // taken over or removed: release() checks
    }
  }, heartbeatMs);
  heartbeat.unref();
  let released = false;
  const release = () => {
    if (released) return;
    released = true;
    clearInterval(heartbeat);
    process.off('exit', release);
    // only ours: a lock taken over from us (we looked dead) belongs to the new owner
    if (readOwner(dir).owner?.pid === process.pid) fs.rmSync(dir, { recursive: true, force: true });
  };
  process.on('exit', release);
  return { release };
}

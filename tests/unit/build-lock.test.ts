/** The web build lock of `npm start` (issue 10, item 12): released on every exit, a dead owner's taken over at once, waiting said. */
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { acquireBuildLock } from '@/scripts/build-lock';

const root = path.resolve(import.meta.dirname, '../..');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'lexicon-lock-test-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
let n = 0;
const lockDir = () => path.join(tmp, `lock-${++n}`);

function fakeLock(dir: string, pid: number) {
  fs.mkdirSync(dir);
  fs.writeFileSync(path.join(dir, 'owner'), JSON.stringify({ pid, host: os.hostname(), since: new Date().toISOString() }));
}

/** a pid that was a process a moment ago and is no longer */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', 'console.log(process.pid)'], { encoding: 'utf8' });
  return Number(child.stdout.trim());
}

describe('the build lock', () => {
  it('records its owner and is gone once released', async () => {
    const dir = lockDir();
    const lock = await acquireBuildLock(dir);
    expect(JSON.parse(fs.readFileSync(path.join(dir, 'owner'), 'utf8')).pid).toBe(process.pid);
    lock.release();
    expect(fs.existsSync(dir)).toBe(false);
  });

  it('takes over at once a lock whose owner pid is dead, and says so', async () => {
    const dir = lockDir();
    const pid = deadPid();
    fakeLock(dir, pid);
    const lines: string[] = [];
    const t0 = Date.now();
    const lock = await acquireBuildLock(dir, { log: (l) => lines.push(l) });
    expect(Date.now() - t0).toBeLessThan(1_000);
    expect(lines.join('\n')).toContain(`pid ${pid}, is no longer running`);
    expect(JSON.parse(fs.readFileSync(path.join(dir, 'owner'), 'utf8')).pid).toBe(process.pid);
    lock.release();
  });

  it('makes a waiter for a live owner say that it waits and for whom, and go on when the owner releases', async () => {
    const dir = lockDir();
    const holder = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)']);
    try {
      fakeLock(dir, holder.pid!);
      const lines: string[] = [];
      let acquired = false;
      const waiting = acquireBuildLock(dir, { log: (l) => lines.push(l), pollMs: 50 }).then((lock) => {
        acquired = true;
        return lock;
      });
      await new Promise((r) => setTimeout(r, 500));
      expect(acquired).toBe(false);
      expect(lines).toEqual([expect.stringMatching(new RegExp(`waiting for another start \\(pid ${holder.pid}\\) to finish building the web app`))]);
      fs.rmSync(dir, { recursive: true }); // the owner releases
      (await waiting).release();
      expect(acquired).toBe(true);
    } finally {
      holder.kill('SIGKILL');
    }
  });

  it('takes over a lock whose live owner stopped touching it (a reused pid), and one with no owner file left by a crash', async () => {
    const dir = lockDir();
    fakeLock(dir, process.ppid); // alive, but not touching it
    const old = new Date(Date.now() - 120_000);
    fs.utimesSync(path.join(dir, 'owner'), old, old);
    const lines: string[] = [];
    (await acquireBuildLock(dir, { log: (l) => lines.push(l), staleMs: 60_000 })).release();
    expect(lines.join('\n')).toMatch(/stopped touching it 12\d s ago/);

    fs.mkdirSync(dir);
    fs.utimesSync(dir, old, old);
    (await acquireBuildLock(dir, { staleMs: 60_000 })).release();
  });

  it('is released when its holder exits without releasing it, even by process.exit in the middle of a build', async () => {
    const dir = lockDir();
    const script = `import { acquireBuildLock } from './scripts/build-lock';
      await acquireBuildLock(${JSON.stringify(dir)});
      console.log('held');
      setTimeout(() => process.exit(3), 100);`;
    const child = spawn(path.join(root, 'node_modules/.bin/tsx'), ['--input-type=module', '-e', script], { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout!.on('data', (d) => (out += d));
    const [code] = await once(child, 'exit');
    expect(out).toContain('held');
    expect(code).toBe(3);
    expect(fs.existsSync(dir)).toBe(false);
  });
});

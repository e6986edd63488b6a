/**
 * A Hugging Face Hub on 127.0.0.1 for tests: the tree API (`/api/models/OWNER/REPO/tree/main[/FOLDER]`, an LFS
 * sha256 for weights, a git blob sha1 otherwise) and `/OWNER/REPO/resolve/main/FILE` with HTTP Range. It can drop a
 * file's connection half-way once, list a wrong sha256 for a file, and require a token.
 */
import { createHash } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeHub {
  endpoint: string;
  /** `OWNER/REPO/FILE` → bytes */
  files: Map<string, Buffer>;
  /** files whose next download is cut after half its bytes (once each) */
  dropOnce: Set<string>;
  /** files the tree API lists with this sha256 instead of the true one */
  wrongSha: Map<string, string>;
  /** every request: method, url, Range and Authorization headers */
  requests: { url: string; range?: string; authorization?: string }[];
  close(): Promise<void>;
}

const LFS = /\.(safetensors|bin|npz)$/;

export async function startFakeHub(options: { token?: string } = {}): Promise<FakeHub> {
  const files = new Map<string, Buffer>();
  const dropOnce = new Set<string>();
  const wrongSha = new Map<string, string>();
  const requests: FakeHub['requests'] = [];

  const server = http.createServer((req, res) => {
    const url = decodeURIComponent(new URL(req.url ?? '/', 'http://hub').pathname);
    requests.push({ url, range: req.headers.range, authorization: req.headers.authorization });
    if (options.token && req.headers.authorization !== `Bearer ${options.token}`) return void res.writeHead(401).end();

    const tree = /^\/api\/models\/([^/]+\/[^/]+)\/tree\/main(?:\/(.*))?$/.exec(url);
    if (tree) {
      const prefix = `${tree[1]}/${tree[2] ? `${tree[2]}/` : ''}`;
      const entries = new Map<string, object>();
      for (const [key, body] of files) {
        if (!key.startsWith(prefix)) continue;
        const rest = key.slice(prefix.length);
        const repoPath = key.slice(tree[1]!.length + 1);
        if (rest.includes('/')) {
          const dir = `${tree[2] ? `${tree[2]}/` : ''}${rest.split('/')[0]}`;
          entries.set(dir, { type: 'directory', path: dir, oid: '0'.repeat(40), size: 0 });
        } else {
          const gitOid = createHash('sha1').update(`blob ${body.length}\0`).update(body).digest('hex');
          const sha256 = wrongSha.get(key) ?? createHash('sha256').update(body).digest('hex');
          entries.set(repoPath, { type: 'file', path: repoPath, size: body.length, oid: gitOid, ...(LFS.test(key) ? { lfs: { oid: sha256, size: body.length, pointerSize: 134 } } : {}) });
        }
      }
      if (entries.size === 0) return void res.writeHead(404).end();
      return void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify([...entries.values()]));
    }

    const resolve = /^\/([^/]+\/[^/]+)\/resolve\/main\/(.+)$/.exec(url);
    const key = resolve ? `${resolve[1]}/${resolve[2]}` : '';
    const body = files.get(key);
    if (!body) return void res.writeHead(404).end();
    const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    const start = range ? Number(range[1]) : 0;
    const slice = body.subarray(start);
    res.writeHead(range ? 206 : 200, {
      'content-length': String(slice.length),
      ...(range ? { 'content-range': `bytes ${start}-${body.length - 1}/${body.length}` } : {}),
    });
    if (dropOnce.delete(key)) {
      res.write(slice.subarray(0, Math.floor(slice.length / 2)), () => res.destroy());
      return;
    }
    res.end(slice);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    files,
    dropOnce,
    wrongSha,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Puts every file of a local folder into the hub under `OWNER/REPO/FOLDER/`. */
export function serveFolder(hub: FakeHub, repoFolder: string, files: Record<string, Buffer>): void {
  for (const [name, body] of Object.entries(files)) hub.files.set(`${repoFolder}/${name}`, body);
}

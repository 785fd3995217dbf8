// Opens the database: a SQLite file by default (WAL), PostgreSQL for a postgres:// URL; migrations run at start-up.
import type { EntityManager } from '@mikro-orm/core';
import { MikroORM as SqliteOrm, SqlitePlatform } from '@mikro-orm/sqlite';
import { Migrator } from '@mikro-orm/migrations';
import { existsSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ENTITIES } from './entities/index.ts';

export type Orm = Awaited<ReturnType<typeof SqliteOrm.init>>;

export interface DatabaseOptions {
  /** A file path (`./iron.db`), `:memory:`, or `postgres://user@host:5432/db`. */
  url: string;
  debug?: boolean;
}

function isPostgres(url: string): boolean {
  return /^postgres(ql)?:\/\//.test(url);
}

/** Seconds to wait for PostgreSQL to answer a new connection: libpq's `connect_timeout` URL parameter, default 10. */
export function connectTimeoutSeconds(url: string): number {
  const value = new URL(url).searchParams.get('connect_timeout');
  if (value === null) return 10;
  const seconds = Number(value);
  if (value.trim() === '' || !Number.isFinite(seconds) || seconds < 0) throw new Error(`connect_timeout in the database URL: expected a number of seconds (0: wait forever), got ${JSON.stringify(value)}`);
  return seconds;
}

function migrationsPath(dialect: 'sqlite' | 'postgresql'): string {
  return fileURLToPath(new URL(`./migrations/${dialect}`, import.meta.url));
}

/** Config shared by the app and the migration generator script. */
export async function ormConfig(options: DatabaseOptions) {
  const postgres = isPostgres(options.url);
  const dialect = postgres ? 'postgresql' : 'sqlite';
  const common = {
    entities: ENTITIES,
    extensions: [Migrator],
    debug: options.debug ?? false,
    allowGlobalContext: false,
    migrations: { path: migrationsPath(dialect), glob: '!(*.d).{js,ts}', transactional: true, snapshot: false, emit: 'ts' as const, silent: true },
  };
  if (postgres) {
    const { PostgreSqlDriver } = await import('@mikro-orm/postgresql');
    // `?schema=name` puts every table in that schema (tests run in parallel, one schema each).
    const url = new URL(options.url);
    const schema = url.searchParams.get('schema');
    url.searchParams.delete('schema');
    // A host that never answers (a firewall dropping packets, another service on that port) fails start-up after
    // connect_timeout instead of hanging in silence; the pool also stops waiting for a free connection after it.
    const connectionTimeoutMillis = connectTimeoutSeconds(options.url) * 1000;
    url.searchParams.delete('connect_timeout');
    if (schema && !/^[a-z_][a-z0-9_]*$/.test(schema)) throw new Error(`invalid schema name in the database URL: ${schema}`);
    const onCreateConnection = schema
      ? async (connection: { executeQuery(query: unknown): Promise<unknown> }) => {
          const { CompiledQuery } = await import('kysely');
          await connection.executeQuery(CompiledQuery.raw(`set search_path to ${schema}`));
        }
      : undefined;
    // Never creates the database: a typo in the URL would otherwise start a second, empty control plane without a
    // word. A missing database is a start-up error that names it.
    return { ...common, ensureDatabase: false, driver: PostgreSqlDriver, clientUrl: url.toString(), driverOptions: { connectionTimeoutMillis }, ...(schema ? { schema, onCreateConnection } : {}) };
  }
  return { ...common, dbName: options.url };
}

/** Connects and applies pending migrations. SQLite files use WAL: readers never block the ingest writer. */
export async function openDatabase(options: DatabaseOptions): Promise<Orm> {
  // A new SQLite file is created readable by its owner only (SQLite gives its -wal and -shm files the same mode): it
  // holds password hashes, token hashes and the signing key.
  if (!isPostgres(options.url) && options.url !== ':memory:' && !existsSync(options.url)) writeFileSync(options.url, '', { mode: 0o600, flag: 'wx' });
  const config = await ormConfig(options);
  const orm = (isPostgres(options.url)
    ? await (await import('@mikro-orm/postgresql')).MikroORM.init(config as never)
    : await SqliteOrm.init(config as never)) as unknown as Orm;
  try {
    if (!isPostgres(options.url) && options.url !== ':memory:') {
      await orm.em.getConnection().execute('pragma journal_mode = wal');
      // WAL + synchronous=normal: a commit survives a process crash (not a power cut, which WAL may roll back to the
      // last checkpoint). A bigger page cache and memory-mapped reads keep ingest and aggregates off the disk.
      await orm.em.getConnection().execute('pragma synchronous = normal');
      await orm.em.getConnection().execute('pragma cache_size = -65536');
      await orm.em.getConnection().execute('pragma mmap_size = 268435456');
      await orm.em.getConnection().execute('pragma temp_store = memory');
    }
    if (isPostgres(options.url)) {
      // First through the pool (its connect_timeout and errors are the ones users are told about), then the lock.
      await orm.em.getConnection().execute('select 1');
      await underMigrationLock(options.url, () => orm.migrator.up());
    }
    else await orm.migrator.up();
  } catch (error) {
    // An open PostgreSQL pool would keep a failed start-up's process alive.
    await orm.close().catch(() => undefined);
    throw error;
  }
  return orm;
}

/** Any 64-bit key: the advisory lock that makes instances starting at once migrate one after another. */
const MIGRATION_LOCK = 7_419_220_519;

/**
 * Runs `migrate` holding a PostgreSQL session advisory lock: two instances starting at once on an empty database
 * would otherwise both create the tables (one fails); the second waits, then finds nothing left to apply.
 */
async function underMigrationLock(url: string, migrate: () => Promise<unknown>): Promise<void> {
  const { default: pg } = await import('pg');
  const parsed = new URL(url);
  parsed.searchParams.delete('schema');
  const timeoutMs = connectTimeoutSeconds(url) * 1000;
  parsed.searchParams.delete('connect_timeout');
  const client = new pg.Client({ connectionString: parsed.toString(), connectionTimeoutMillis: timeoutMs });
  client.on('error', () => undefined);
  await client.connect();
  try {
    await client.query('select pg_advisory_lock($1)', [MIGRATION_LOCK]);
    await migrate();
  } finally {
    await client.query('select pg_advisory_unlock($1)', [MIGRATION_LOCK]).catch(() => undefined);
    await client.end().catch(() => undefined);
  }
}

/** SQLite stores MikroORM datetimes as integer epoch milliseconds; PostgreSQL as timestamptz. */
export function isSqlite(em: EntityManager): boolean {
  return em.getPlatform() instanceof SqlitePlatform;
}

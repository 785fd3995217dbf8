// `node scripts/create-migration.ts [name]`: writes the next migration for SQLite and PostgreSQL from the entities.
// PostgreSQL needs IRON_TEST_PG_URL pointing at a scratch database holding nothing else: its public schema is
// dropped, and the diff covers every schema in it (leftover test schemas would end up in the migration).
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MikroORM as SqliteOrm } from '@mikro-orm/sqlite';
import { ormConfig } from '../server/db.ts';

const name = process.argv[2];

/**
 * The usage rollup triggers (migration usage_hourly) are not described by the entities, so the schema diff
 * proposes dropping them: such lines are removed from every generated migration.
 */
function keepUsageTriggers(dir: string, fileName: string): void {
  if (!fileName) return;
  const file = join(dir, fileName);
  const kept = readFileSync(file, 'utf8').split('\n').filter((line) => !line.includes('llm_calls_usage'));
  writeFileSync(file, kept.join('\n'));
}
const sqlite = await SqliteOrm.init((await ormConfig({ url: ':memory:' })) as never);
await sqlite.migrator.up();
const created = await sqlite.migrator.create(undefined, false, false, name);
keepUsageTriggers(new URL('../server/migrations/sqlite', import.meta.url).pathname, created.fileName);
console.log(`sqlite: ${created.fileName || 'no changes'}`);
await sqlite.close();

const pgUrl = process.env.IRON_TEST_PG_URL;
if (pgUrl) {
  const { MikroORM } = await import('@mikro-orm/postgresql');
  const pg = await MikroORM.init((await ormConfig({ url: pgUrl })) as never);
  await pg.schema.drop({ dropMigrationsTable: true }).catch(() => undefined);
  await pg.migrator.up();
  const made = await pg.migrator.create(undefined, false, false, name);
  keepUsageTriggers(new URL('../server/migrations/postgresql', import.meta.url).pathname, made.fileName);
  console.log(`postgresql: ${made.fileName || 'no changes'}`);
  await pg.close();
} else console.log('postgresql: skipped (set IRON_TEST_PG_URL)');

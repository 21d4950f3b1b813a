// `npm run db:reset -- --yes`: fresh seeded data in the database the settings point at (the embedded
// MariaDB, the stack's Galera cluster, or MYSQL_HOST with MYSQL_ADMIN_USER). Drops every table of the
// app's database `test` except the stack's record of the accounts it created (test.stack_accounts, which
// migrate() needs to drop accounts the settings no longer name), then applies sql/ again with the
// migration code every start uses (cluster/database/migrate.ts): the tables, the seed rows, the grants.
// On Galera the DROP and CREATE statements replicate like any DDL, so one node's run resets the cluster.
// Without --yes it says what it would delete and changes nothing. Requests arriving meanwhile may fail
// (a table is missing for a moment): reset a quiet stack.
import { loadDotEnv } from '../env-file';
import mysql from 'mysql2/promise';
import { adminConnectionOptions } from '../database/admin';
import { migrate } from '../database/migrate';
import { loadStackSettings, type StackSettings } from '../settings';

// Before anything reads a setting: the project's .env, shell values winning (cluster/env-file.ts).
loadDotEnv();

export const CONFIRM_FLAG = '--yes';

/** The app's database: every migration in sql/ names its tables `test.<table>`. */
const DATABASE = 'test';
/** Kept: not data, but which accounts the stack created (cluster/database/stack-accounts.ts). */
const KEPT_TABLES = ['stack_accounts'];
/** The lock migrate() takes, so a start's migration never runs into a half-dropped database. */
const LOCK_NAME = 'test.schema_migrations';
const LOCK_WAIT_SECONDS = 60;

function describeTarget(settings: StackSettings): string {
  if (settings.database.embedded) return 'the embedded MariaDB';
  if (settings.database.topology === 'galera') return "the stack's Galera cluster";
  return `${settings.database.host}:${settings.database.port}`;
}

async function tablesToDrop(connection: mysql.Connection): Promise<string[]> {
  const [rows] = await connection.query<mysql.RowDataPacket[]>(
    'SELECT TABLE_NAME AS name FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? ORDER BY TABLE_NAME',
    [DATABASE],
  );
  return rows.map((row) => String(row.name)).filter((name) => !KEPT_TABLES.includes(name));
}

/** What a reset would drop (nothing changed). */
export async function plannedReset(admin: mysql.ConnectionOptions): Promise<string[]> {
  const connection = await mysql.createConnection(admin);
  try {
    return await tablesToDrop(connection);
  } finally {
    await connection.end();
  }
}

/** Drops the data tables, then migrates; returns the tables dropped and the migration files applied. */
export async function resetData(
  settings: StackSettings,
  admin: mysql.ConnectionOptions,
): Promise<{ dropped: string[]; applied: string[] }> {
  const connection = await mysql.createConnection(admin);
  let dropped: string[];
  try {
    const [[lock]] = await connection.query<mysql.RowDataPacket[]>('SELECT GET_LOCK(?, ?) AS got', [
      LOCK_NAME,
      LOCK_WAIT_SECONDS,
    ]);
    if (lock?.got !== 1) {
      throw new Error(
        `A migration held the lock "${LOCK_NAME}" for ${LOCK_WAIT_SECONDS}s; try again when it has finished.`,
      );
    }
    dropped = await tablesToDrop(connection);
    if (dropped.length > 0) {
      await connection.query('SET SESSION foreign_key_checks = 0');
      await connection.query(
        `DROP TABLE IF EXISTS ${dropped.map((name) => `${DATABASE}.${mysql.escapeId(name)}`).join(', ')}`,
      );
    }
  } finally {
    // Closing the session releases the lock, which migrate() then takes on its own connection.
    await connection.end();
  }
  const applied = await migrate(settings, admin);
  return { dropped, applied };
}

async function main(argv: string[]): Promise<number> {
  const settings = loadStackSettings();
  const admin = adminConnectionOptions(settings);
  const target = describeTarget(settings);
  if (!argv.includes(CONFIRM_FLAG)) {
    const tables = await plannedReset(admin);
    console.error(
      `db:reset drops every table of the database "${DATABASE}" on ${target} (${tables.join(', ') || 'none yet'}), ` +
        'every todo and idempotency key with them, and loads the seed data again.',
    );
    console.error(`Nothing was changed. To go ahead: npm run db:reset -- ${CONFIRM_FLAG}`);
    return 1;
  }
  const { dropped, applied } = await resetData(settings, admin);
  console.log(`Reset ${target}: dropped ${dropped.join(', ') || 'nothing'}; applied ${applied.join(', ')}.`);
  return 0;
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: unknown) => {
      const code = (err as { code?: unknown }).code;
      const hint = code === 'ENOENT' || code === 'ECONNREFUSED' ? ' Is the database running (npm start)?' : '';
      console.error(`db:reset failed: ${err instanceof Error ? err.message : String(err)}.${hint}`);
      process.exit(1);
    },
  );
}

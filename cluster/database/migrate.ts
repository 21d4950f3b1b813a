// Applies sql/: numbered files (V001__*.sql) once each, in order, recorded in test.schema_migrations
// so a seed row the app deleted stays deleted; repeatable files (R__*.sql) on every run, so accounts
// and grants always match the current settings; then the accounts the stack created and the settings no
// longer name are dropped (stack-accounts.ts). Every file is idempotent, so a crash between
// applying a file and recording it only means the file runs again.
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import mysql from 'mysql2/promise';
import { PROJECT_ROOT, type StackSettings } from '../settings';
import { requireProvisionedSecrets } from '../secrets';
import { ensureHostAccounts } from '../hosts/tls';
import { declaredAccounts, revokeExtraPrivileges } from './grants';
import {
  dropAccountsNoLongerNamed,
  existingAccounts,
  namedAccounts,
  recordCreatedAccounts,
  STACK_ACCOUNTS_TABLE,
} from './stack-accounts';

export const SQL_DIR = path.join(PROJECT_ROOT, 'sql');

// The bookkeeping table lives beside the data it describes. Created here, not in a migration,
// because the migrations cannot be read as applied or not before it exists.
const BOOTSTRAP = `
CREATE DATABASE IF NOT EXISTS test CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_520_ci;
CREATE TABLE IF NOT EXISTS test.schema_migrations (
  name VARCHAR(255) NOT NULL PRIMARY KEY,
  applied_at TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_520_ci;`;

// Server-wide, so two `db:migrate` runs (or two stacks on one server) take turns.
const LOCK_NAME = 'test.schema_migrations';
const LOCK_WAIT_SECONDS = 60;

export interface MigrationFile {
  name: string;
  sql: string;
}

export interface MigrationFiles {
  numbered: MigrationFile[];
  repeatable: MigrationFile[];
}

const NUMBERED = /^V(\d+)__[A-Za-z0-9_-]+\.sql$/;
const REPEATABLE = /^R__[A-Za-z0-9_-]+\.sql$/;

// Whole-line `--` comments are dropped before sending: mysql2's placeholder parser knows quotes but
// not comments, so an apostrophe or a `:word` in prose would otherwise corrupt the statement.
function stripLineComments(sql: string): string {
  return sql
    .split('\n')
    .filter((line) => !line.trimStart().startsWith('--'))
    .join('\n');
}

export async function readMigrations(dir: string = SQL_DIR): Promise<MigrationFiles> {
  const names = (await readdir(dir)).filter((name) => name.endsWith('.sql')).sort();
  const numbered: (MigrationFile & { version: number })[] = [];
  const repeatable: MigrationFile[] = [];
  for (const name of names) {
    const sql = stripLineComments(await readFile(path.join(dir, name), 'utf8'));
    const match = NUMBERED.exec(name);
    if (match) {
      const version = Number(match[1]);
      const clash = numbered.find((m) => m.version === version);
      if (clash) throw new Error(`${name} and ${clash.name} in ${dir} share version ${version}.`);
      numbered.push({ name, sql, version });
    } else if (REPEATABLE.test(name)) {
      repeatable.push({ name, sql });
    } else {
      throw new Error(
        `${path.join(dir, name)} is neither a numbered (V001__name.sql) nor a repeatable (R__name.sql) migration.`,
      );
    }
  }
  numbered.sort((a, b) => a.version - b.version);
  return { numbered: numbered.map(({ name, sql }) => ({ name, sql })), repeatable };
}

/** The values the SQL files may use as `:name` placeholders. */
export function migrationParams(settings: StackSettings): Record<string, string> {
  return {
    user_host: settings.database.appUserHost,
    app_user: settings.database.appUser,
    app_password: settings.database.appPassword,
    check_user: settings.database.checkUser,
    check_user_host: settings.database.checkUserHost,
    exporter_user: settings.monitoring.exporterUser,
    exporter_password: settings.monitoring.exporterPassword,
    galera_check_user: settings.galera.checkUser,
    galera_check_host: settings.galera.checkUserHost,
    galera_check_password: settings.galera.checkPassword,
  };
}

/** The Galera health agent's account exists only where an agent checks Galera nodes. */
export function usesGaleraCheckAccount(settings: StackSettings): boolean {
  return (
    settings.database.topology === 'galera' ||
    (settings.galera.servers.length > 0 && settings.galera.checkPassword !== '')
  );
}

/** Repeatable files that apply to these settings: R__galera_check.sql only with a Galera agent. */
function appliesTo(file: MigrationFile, settings: StackSettings): boolean {
  return file.name !== 'R__galera_check.sql' || usesGaleraCheckAccount(settings);
}

function assertPlaceholdersKnown(file: MigrationFile, params: Record<string, string>): void {
  const unquoted = file.sql.replace(/'(?:[^'\\]|\\.|'')*'/g, "''");
  for (const [, name] of unquoted.matchAll(/:([A-Za-z][A-Za-z0-9_]*)/g)) {
    if (!(name! in params)) throw new Error(`${file.name} uses :${name}, which migrate() does not provide.`);
  }
}

// migrate() revokes from these accounts whatever R__users.sql does not grant them; pointed at the admin
// (or at each other) it would strip the wrong account.
function assertDistinctAccounts(settings: StackSettings): void {
  const accounts = [
    ['DB_USER', settings.database.appUser],
    ['DB_CHECK_USER', settings.database.checkUser],
    ['DB_EXPORTER_USER', settings.monitoring.exporterUser],
    ...(usesGaleraCheckAccount(settings) ? [['GALERA_CHECK_USER', settings.galera.checkUser] as const] : []),
  ] as const;
  for (const [variable, user] of accounts) {
    if (user === settings.database.adminUser || user === 'root') {
      throw new Error(
        `${variable} is "${user}", the administrative account; the stack's accounts must be separate ones.`,
      );
    }
    const other = accounts.find(([v, u]) => v !== variable && u === user);
    if (other) throw new Error(`${variable} and ${other[0]} are both "${user}"; each needs its own account.`);
  }
}

/** Applies pending numbered files and every repeatable one; returns the names applied, in order. */
export async function migrate(
  settings: StackSettings,
  admin: mysql.ConnectionOptions,
  dir: string = SQL_DIR,
): Promise<string[]> {
  // An account is never created with an empty password: the generated ones must exist (npm start).
  requireProvisionedSecrets(settings);
  try {
    return await applyMigrations(settings, admin, dir);
  } catch (error) {
    throw withoutSecrets(error, [
      settings.database.appPassword,
      settings.monitoring.exporterPassword,
      settings.database.adminPassword,
      settings.galera.checkPassword,
    ]);
  }
}

/**
 * The error with every secret replaced, and nothing else of it kept: a MariaDB syntax error quotes the
 * statement "near" the fault, which in R__users.sql may be a password, and mysql2 keeps the whole
 * statement (placeholders filled in) on the error, where a logger printing the object would show it.
 */
export function withoutSecrets(error: unknown, secrets: string[]): Error {
  let message = error instanceof Error ? error.message : String(error);
  for (const secret of secrets.filter((s) => s !== '')) message = message.split(secret).join('[password]');
  const clean = new Error(message);
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string') Object.assign(clean, { code });
  return clean;
}

async function applyMigrations(
  settings: StackSettings,
  admin: mysql.ConnectionOptions,
  dir: string,
): Promise<string[]> {
  assertDistinctAccounts(settings);
  const all = await readMigrations(dir);
  const files = { numbered: all.numbered, repeatable: all.repeatable.filter((file) => appliesTo(file, settings)) };
  const params = migrationParams(settings);
  for (const file of [...files.numbered, ...files.repeatable]) assertPlaceholdersKnown(file, params);

  const connection = await mysql.createConnection({ ...admin, multipleStatements: true, namedPlaceholders: true });
  try {
    const [[lock]] = await connection.query<mysql.RowDataPacket[]>('SELECT GET_LOCK(:name, :wait) AS got', {
      name: LOCK_NAME,
      wait: LOCK_WAIT_SECONDS,
    });
    if (lock?.got !== 1) {
      throw new Error(
        `Another migration held the lock "${LOCK_NAME}" for ${LOCK_WAIT_SECONDS}s; try again when it has finished.`,
      );
    }
    await connection.query(BOOTSTRAP);
    await connection.query(STACK_ACCOUNTS_TABLE);
    const [rows] = await connection.query<mysql.RowDataPacket[]>('SELECT name FROM test.schema_migrations');
    const done = new Set(rows.map((row) => row.name as string));

    const applied: string[] = [];
    for (const file of files.numbered.filter((f) => !done.has(f.name))) {
      await connection.query(file.sql, params);
      await connection.query('INSERT INTO test.schema_migrations (name) VALUES (:name)', { name: file.name });
      applied.push(file.name);
    }
    const accounts = namedAccounts(settings);
    const existedBefore = await existingAccounts(connection, accounts);
    for (const file of files.repeatable) {
      // Only adds (see grants.ts); what the file's accounts hold beyond its GRANTs is revoked after.
      await connection.query(file.sql, params);
      for (const account of declaredAccounts(file.sql, params)) await revokeExtraPrivileges(connection, account);
      applied.push(file.name);
    }
    // Over several hosts: the app account from each host's address, TLS only (cluster/hosts/tls.ts).
    if (settings.hosts) await ensureHostAccounts(connection, settings);
    await recordCreatedAccounts(connection, accounts, existedBefore);
    // Only now that the accounts the settings name exist: a worker never finds neither the old nor the new.
    await dropAccountsNoLongerNamed(connection, accounts, settings.database.adminUser);
    return applied;
  } finally {
    // Closing the session releases the lock too; end() only waits for the server to acknowledge.
    await connection.end();
  }
}

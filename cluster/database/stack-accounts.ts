// The accounts the stack created, recorded in test.stack_accounts so that migrate() can drop them, grants
// and all, once the settings name other ones (DB_USER or DB_USER_HOST changed). Only an account that did
// not exist before sql/R__users.sql ran is recorded: one that was already there (root, or one someone
// made on an external MYSQL_HOST) is the stack's to re-grant while named, never to drop. MariaDB has no
// comment or attribute on an account (CREATE USER ... COMMENT is MySQL 8 only), hence the table.
// Stacks that share one server share the record: give them the same account settings.
import type mysql from 'mysql2/promise';
import type { StackSettings } from '../settings';

export interface Account {
  user: string;
  host: string;
}

// Binary collation: MariaDB tells 'App' from 'app'. The app user cannot read or write this table
// (R__users.sql grants it test.todos only), so it cannot name an account here for migrate() to drop.
export const STACK_ACCOUNTS_TABLE = `
CREATE TABLE IF NOT EXISTS test.stack_accounts (
  user VARCHAR(128) COLLATE utf8mb4_bin NOT NULL,
  host VARCHAR(255) COLLATE utf8mb4_bin NOT NULL,
  created_at TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  PRIMARY KEY (user, host)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;`;

/** The accounts sql/R__users.sql creates and grants for these settings. */
export function namedAccounts(settings: StackSettings): Account[] {
  return [
    { user: settings.database.appUser, host: settings.database.appUserHost },
    { user: settings.database.checkUser, host: settings.database.checkUserHost },
    { user: settings.monitoring.exporterUser, host: settings.database.appUserHost },
    ...(settings.database.topology === 'galera' ||
    (settings.galera.servers.length > 0 && settings.galera.checkPassword !== '')
      ? [{ user: settings.galera.checkUser, host: settings.galera.checkUserHost }]
      : []),
  ];
}

const key = (account: Account) => `${account.user}@${account.host}`;

/** Which of `accounts` exist on the server now. */
export async function existingAccounts(connection: mysql.Connection, accounts: Account[]): Promise<Account[]> {
  const [rows] = await connection.query<mysql.RowDataPacket[]>('SELECT User AS user, Host AS host FROM mysql.user');
  const present = new Set(rows.map((row) => key({ user: String(row.user), host: String(row.host) })));
  return accounts.filter((account) => present.has(key(account)));
}

/** Records the accounts that exist now but did not before R__users.sql ran: the ones the stack created. */
export async function recordCreatedAccounts(
  connection: mysql.Connection,
  accounts: Account[],
  existedBefore: Account[],
): Promise<void> {
  const before = new Set(existedBefore.map(key));
  for (const account of await existingAccounts(connection, accounts)) {
    if (before.has(key(account))) continue;
    await connection.query('INSERT IGNORE INTO test.stack_accounts (user, host) VALUES (:user, :host)', { ...account });
  }
}

/**
 * Drops every recorded account the settings no longer name and forgets it; returns those dropped.
 * Never the administrative account or root, whatever the record says.
 */
export async function dropAccountsNoLongerNamed(
  connection: mysql.Connection,
  named: Account[],
  adminUser: string,
): Promise<Account[]> {
  const keep = new Set(named.map(key));
  const [rows] = await connection.query<mysql.RowDataPacket[]>(
    'SELECT user, host FROM test.stack_accounts ORDER BY user, host',
  );
  const dropped: Account[] = [];
  for (const row of rows) {
    const account = { user: String(row.user), host: String(row.host) };
    if (keep.has(key(account)) || account.user === adminUser || account.user === 'root') continue;
    // Sessions already open as this account stay open until they end; new logins are refused.
    await connection.query('DROP USER IF EXISTS :user@:host', { ...account });
    await connection.query('DELETE FROM test.stack_accounts WHERE user = :user AND host = :host', { ...account });
    dropped.push(account);
  }
  return dropped;
}

// The embedded server's one superuser, and the accounts it must not have. The admin is the OS user that
// runs the stack, authenticated by the server with `unix_socket` (the peer's uid, read from the socket,
// as Debian's own MariaDB does for root): no password exists to leak, and no TCP login can match it.
// mariadb-install-db's other accounts (root for 127.0.0.1, ::1 and the host name, passwordless in the
// datadirs earlier versions created with --auth-root-authentication-method=normal) are dropped, so an
// old .stack/ is brought to the same state on its next start, its data untouched.
import os from 'node:os';
import type mysql from 'mysql2/promise';
import type { Account } from './stack-accounts';

/** The OS user running this process: the name of the embedded server's admin account. */
export function embeddedAdminUser(): string {
  return os.userInfo().username;
}

/** Only over the socket (MariaDB calls a socket client `localhost` when names are not resolved). */
export const ADMIN_HOST = 'localhost';

/**
 * A login that worked on datadirs made before unix_socket: root@localhost without a password, over the
 * socket. Used once, to convert such a datadir, when the OS user is not root (for root, the admin login
 * is the same account and already works).
 */
export function legacyRootLogin(socketPath: string): mysql.ConnectionOptions {
  return { socketPath, user: 'root', password: '' };
}

// Why each dropped account goes, for the log line.
const UNWANTED = `
SELECT User AS user, Host AS host,
  CASE
    WHEN User = '' THEN 'anonymous'
    WHEN User IN ('root', :admin) THEN 'superuser off the socket, or root when the admin is another user'
    ELSE 'no password, reachable over TCP'
  END AS reason
FROM mysql.user
WHERE is_role = 'N' AND NOT (User = :admin AND Host = :adminHost) AND User <> 'mariadb.sys' AND (
  User = ''
  OR User IN ('root', :admin)
  OR (Host <> :adminHost AND authentication_string = '' AND plugin IN ('', 'mysql_native_password', 'mysql_old_password'))
)
ORDER BY User, Host`;

export interface DroppedAccount extends Account {
  reason: string;
}

/**
 * Makes `admin`@localhost the server's one superuser, identified only via unix_socket, and drops every
 * anonymous account, every other account of root or the admin's name, and every passwordless account a
 * TCP client could match. Idempotent; returns what it dropped. `connection` needs namedPlaceholders.
 */
export async function secureEmbeddedAccounts(connection: mysql.Connection, admin: string): Promise<DroppedAccount[]> {
  const self = { admin, adminHost: ADMIN_HOST };
  await connection.query('CREATE USER IF NOT EXISTS :admin@:adminHost IDENTIFIED VIA unix_socket', self);
  // The session that runs this keeps its login; the next one is checked against the socket's peer uid.
  await connection.query('ALTER USER :admin@:adminHost IDENTIFIED VIA unix_socket', self);
  await connection.query('GRANT ALL PRIVILEGES ON *.* TO :admin@:adminHost WITH GRANT OPTION', self);
  const [rows] = await connection.query<mysql.RowDataPacket[]>(UNWANTED, self);
  const dropped = rows.map((row) => ({ user: String(row.user), host: String(row.host), reason: String(row.reason) }));
  for (const account of dropped) {
    await connection.query('DROP USER :user@:host', { user: account.user, host: account.host });
  }
  return dropped;
}

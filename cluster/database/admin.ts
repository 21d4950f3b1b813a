// How administrative tools (migrations, db:shell) reach the database the settings point at: the embedded
// server over its unix socket as the OS user running the stack (unix_socket authentication: no password,
// see admin-account.ts), or an external one over TCP with MYSQL_ADMIN_USER / MYSQL_ADMIN_PASSWORD.
import type mysql from 'mysql2/promise';
import type { StackSettings } from '../settings';
import { embeddedAdminUser } from './admin-account';
import { embeddedPaths } from './embedded';
import { galeraLayoutOf } from './galera/env';

/** The socket the admin uses: the embedded server's, or the local Galera cluster's first node's. */
function adminSocket(settings: StackSettings): string | undefined {
  if (settings.database.embedded) return embeddedPaths(settings.stateDir).socket;
  if (settings.database.topology === 'galera') return galeraLayoutOf(settings).nodes[0]?.socket;
  return undefined;
}

export function adminConnectionOptions(settings: StackSettings): mysql.ConnectionOptions {
  const socket = adminSocket(settings);
  if (socket !== undefined) {
    // The server checks the socket peer's uid, not a password; MYSQL_ADMIN_USER does not apply here.
    return { socketPath: socket, user: embeddedAdminUser(), password: '' };
  }
  return {
    host: settings.database.host,
    port: settings.database.port,
    user: settings.database.adminUser,
    password: settings.database.adminPassword,
  };
}

export interface ClientInvocation {
  /** Arguments for the `mariadb` client, before any the user passes. */
  args: string[];
  /** Extra environment: the password goes in MYSQL_PWD so it never shows in `ps`. */
  env: Record<string, string>;
}

/** The `mariadb` client command line equivalent to adminConnectionOptions(). */
export function adminClientInvocation(settings: StackSettings): ClientInvocation {
  // --no-defaults: a ~/.my.cnf with a password or host would silently point the shell elsewhere.
  const socket = adminSocket(settings);
  if (socket !== undefined) {
    return { args: ['--no-defaults', `--socket=${socket}`, `--user=${embeddedAdminUser()}`], env: {} };
  }
  return {
    args: [
      '--no-defaults',
      '--protocol=TCP',
      `--host=${settings.database.host}`,
      `--port=${settings.database.port}`,
      `--user=${settings.database.adminUser}`,
    ],
    env: settings.database.adminPassword === '' ? {} : { MYSQL_PWD: settings.database.adminPassword },
  };
}

// TLS between hosts for MySQL clients (issue 19, item 4). Over several hosts (STACK_HOSTS):
// - every mariadbd takes TLS clients with its node certificate (args.ts), whose subjectAltName carries
//   its host's address (certificates.ts);
// - the workers always connect with TLS, the chain verified against the stack's CA (DB_TLS_CA_FILE):
//   the writer moves between hosts, and HAProxy passes MySQL through in TCP mode, so the session is
//   worker -> mariadbd end to end whichever node takes it;
// - the app account from any host's address requires TLS: one `<DB_USER>@<address> REQUIRE SSL` per
//   host of the topology, with the grants R__users.sql gives DB_USER. A proxy reaches its own node over
//   127.0.0.1 (DB_USER_HOST's account, as on one machine), another host's node from its host address,
//   which is the more specific account MariaDB picks. Accounts replicate, hence one per address on every
//   node, not a subnet wildcard.
import fs from 'node:fs';
import path from 'node:path';
import type mysql from 'mysql2/promise';
import { galeraLayoutOf } from '../database/galera/env';
import { PROJECT_ROOT, type StackSettings } from '../settings';

/** The workers' DB_TLS_CA_FILE over several hosts: the stack's CA. Nothing on one machine. */
export function workerTlsEnv(settings: StackSettings): { DB_TLS_CA_FILE?: string } {
  return settings.hosts ? { DB_TLS_CA_FILE: galeraLayoutOf(settings).tls.ca } : {};
}

const USERS_SQL = path.join(PROJECT_ROOT, 'sql', 'R__users.sql');

/** R__users.sql's GRANTs to the app account, for another host: `:user_host` becomes `:host`. */
export function appGrants(sql = fs.readFileSync(USERS_SQL, 'utf8')): string[] {
  return sql
    .split('\n')
    .filter((line) => /^GRANT\s.*\sTO\s+:app_user@:user_host;$/.test(line))
    .map((line) => line.replace(/:user_host;$/, ':host'));
}

/** The statements giving the app account, from each host address, a TLS-only login (with its values). */
export function hostAccountStatements(settings: StackSettings): { sql: string; values: Record<string, string> }[] {
  const hosts = settings.hosts;
  if (!hosts) return [];
  const grants = appGrants();
  return hosts.hosts.flatMap((host) => {
    const values = {
      app_user: settings.database.appUser,
      host: host.address,
      app_password: settings.database.appPassword,
    };
    return [
      'CREATE USER IF NOT EXISTS :app_user@:host IDENTIFIED BY :app_password REQUIRE SSL',
      // An existing account gets a changed password, and REQUIRE SSL if it was made without.
      'ALTER USER :app_user@:host IDENTIFIED BY :app_password REQUIRE SSL',
      ...grants,
    ].map((sql) => ({ sql, values }));
  });
}

/** Run by migrate() after sql/R__*.sql, with a topology only (a named-placeholder admin connection). */
export async function ensureHostAccounts(connection: mysql.Connection, settings: StackSettings): Promise<void> {
  for (const { sql, values } of hostAccountStatements(settings)) await connection.query(sql, values);
}

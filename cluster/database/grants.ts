// Each account a repeatable file (sql/R__*.sql) creates ends with exactly the privileges that file's
// GRANT statements give it, and at no moment with fewer. The file only adds (CREATE USER IF NOT
// EXISTS, ALTER USER, GRANT: a GRANT of what the account already holds changes nothing); then this
// module reads what the account holds from information_schema (and mysql.procs_priv, mysql.roles_mapping)
// and revokes, one privilege at a time, only what the file does not grant. A REVOKE of one privilege
// leaves every other one in place, so a worker logged in as the app user is never refused while its
// grants are re-applied on every database start (the former REVOKE ALL, then GRANT, refused the writes
// that arrived in between with "INSERT command denied").
//
// Why this and not "apply the grants before the server accepts the app user": migrate() also runs
// against a server that already serves (`npm run db:migrate`, an external MYSQL_HOST, the Galera node
// that bootstraps while HAProxy may already route to it), where no such moment exists.
import type mysql from 'mysql2/promise';

export interface DeclaredAccount {
  user: string;
  host: string;
  /** What the file grants, each as the text after REVOKE: "SELECT ON `test`.`todos`". */
  privileges: Set<string>;
}

// Names MariaDB reports under another name than the one a GRANT may use (10.5.2+): compared by the
// name information_schema shows, or a granted privilege would look extra and be revoked.
const ALIASES: Record<string, string> = {
  'REPLICATION CLIENT': 'BINLOG MONITOR',
  'REPLICA MONITOR': 'SLAVE MONITOR',
  'REPLICATION REPLICA': 'REPLICATION SLAVE',
};

/** A name quoted as MariaDB quotes an identifier. */
export function quoteName(name: string): string {
  return `\`${name.replace(/`/g, '``')}\``;
}

/** `*.*`, `db.*` or `db.table` (quoted or not) in the one spelling both sides use. */
function normalizeObject(object: string): string {
  if (object === '*.*' || object === '*') return '*.*';
  const parts = object.match(/^(`(?:[^`]|``)+`|[A-Za-z0-9_$]+)\.(`(?:[^`]|``)+`|[A-Za-z0-9_$]+|\*)$/);
  if (!parts) throw new Error(`Cannot read the grant target "${object}"; write it as *.*, schema.* or schema.table.`);
  const unquote = (part: string) => (part.startsWith('`') ? part.slice(1, -1).replace(/``/g, '`') : part);
  const [, schema, table] = parts;
  return `${quoteName(unquote(schema!))}.${table === '*' ? '*' : quoteName(unquote(table!))}`;
}

function normalizePrivilege(privilege: string): string {
  const name = privilege.trim().replace(/\s+/g, ' ').toUpperCase();
  return ALIASES[name] ?? name;
}

function statementsOf(sql: string): string[] {
  return sql
    .split(/;\s*(?:\n|$)/)
    .map((statement) => statement.trim())
    .filter((statement) => statement !== '');
}

function placeholderValue(name: string, params: Record<string, string>): string {
  const value = params[name];
  if (value === undefined) throw new Error(`:${name} has no value.`);
  return value;
}

const CREATE_USER = /^CREATE\s+USER\s+IF\s+NOT\s+EXISTS\s+:(\w+)@:(\w+)/i;
const GRANT = /^GRANT\s+([\s\S]+?)\s+ON\s+(\S+)\s+TO\s+:(\w+)@:(\w+)(\s+WITH\s+GRANT\s+OPTION)?$/i;

/**
 * The accounts `sql` creates (CREATE USER IF NOT EXISTS :user@:host) and what its GRANT statements give
 * each. A MariaDB versioned comment (`/*M!100509 , SLAVE MONITOR *\/`) counts as granted: on a server
 * that skips it the privilege is absent, so there is nothing to revoke either way.
 */
export function declaredAccounts(sql: string, params: Record<string, string>): DeclaredAccount[] {
  const accounts = new Map<string, DeclaredAccount>();
  const statements = statementsOf(sql);
  for (const statement of statements) {
    const created = CREATE_USER.exec(statement);
    if (!created) continue;
    const user = placeholderValue(created[1]!, params);
    const host = placeholderValue(created[2]!, params);
    accounts.set(`${created[1]}@${created[2]}`, { user, host, privileges: new Set() });
  }
  for (const statement of statements.filter((s) => /^GRANT\s/i.test(s))) {
    const grant = GRANT.exec(statement);
    if (!grant) throw new Error(`Cannot read "${statement}"; write GRANT <privileges> ON <target> TO :user@:host.`);
    const account = accounts.get(`${grant[3]}@${grant[4]}`);
    if (account === undefined) throw new Error(`"${statement}" grants to an account the file does not create.`);
    const list = grant[1]!.replace(/\/\*M?!\d*([\s\S]*?)\*\//g, '$1');
    const object = normalizeObject(grant[2]!);
    for (const privilege of list
      .split(',')
      .map(normalizePrivilege)
      .filter((p) => p !== '')) {
      if (privilege === 'ALL' || privilege === 'ALL PRIVILEGES' || privilege.includes('(')) {
        throw new Error(`"${statement}": name each privilege (no ALL, no column list), so what is extra can be told.`);
      }
      if (privilege !== 'USAGE') account.privileges.add(`${privilege} ON ${object}`);
    }
    if (grant[5] !== undefined) account.privileges.add(`GRANT OPTION ON ${object}`);
  }
  return [...accounts.values()];
}

/** What `user`@`host` holds now, each as the text after REVOKE; granted roles as "ROLE `name`". */
export async function heldPrivileges(connection: mysql.Connection, user: string, host: string): Promise<Set<string>> {
  const grantee = `'${user}'@'${host}'`;
  const held = new Set<string>();
  const rows = async (sql: string, values: unknown[]) =>
    (await connection.query<mysql.RowDataPacket[]>(sql, values))[0];
  const add = (privilege: unknown, object: string, grantable: unknown) => {
    const name = String(privilege).toUpperCase();
    if (name !== 'USAGE') held.add(`${name} ON ${object}`);
    if (grantable === 'YES') held.add(`GRANT OPTION ON ${object}`);
  };
  for (const row of await rows(
    'SELECT PRIVILEGE_TYPE AS p, IS_GRANTABLE AS g FROM information_schema.USER_PRIVILEGES WHERE GRANTEE = ?',
    [grantee],
  )) {
    add(row.p, '*.*', row.g);
  }
  for (const row of await rows(
    'SELECT TABLE_SCHEMA AS s, PRIVILEGE_TYPE AS p, IS_GRANTABLE AS g FROM information_schema.SCHEMA_PRIVILEGES WHERE GRANTEE = ?',
    [grantee],
  )) {
    add(row.p, `${quoteName(String(row.s))}.*`, row.g);
  }
  for (const row of await rows(
    'SELECT TABLE_SCHEMA AS s, TABLE_NAME AS t, PRIVILEGE_TYPE AS p, IS_GRANTABLE AS g FROM information_schema.TABLE_PRIVILEGES WHERE GRANTEE = ?',
    [grantee],
  )) {
    add(row.p, `${quoteName(String(row.s))}.${quoteName(String(row.t))}`, row.g);
  }
  for (const row of await rows(
    'SELECT TABLE_SCHEMA AS s, TABLE_NAME AS t, COLUMN_NAME AS c, PRIVILEGE_TYPE AS p FROM information_schema.COLUMN_PRIVILEGES WHERE GRANTEE = ?',
    [grantee],
  )) {
    held.add(
      `${String(row.p).toUpperCase()} (${quoteName(String(row.c))}) ON ${quoteName(String(row.s))}.${quoteName(String(row.t))}`,
    );
  }
  for (const row of await rows(
    'SELECT Db AS d, Routine_name AS r, Routine_type AS type, Proc_priv AS p FROM mysql.procs_priv WHERE User = ? AND Host = ?',
    [user, host],
  )) {
    const object = `${String(row.type)} ${quoteName(String(row.d))}.${quoteName(String(row.r))}`;
    for (const privilege of String(row.p)
      .split(',')
      .filter((p) => p !== '')) {
      held.add(`${privilege === 'Grant' ? 'GRANT OPTION' : privilege.toUpperCase()} ON ${object}`);
    }
  }
  for (const row of await rows('SELECT Role AS r FROM mysql.roles_mapping WHERE User = ? AND Host = ?', [user, host])) {
    held.add(`ROLE ${quoteName(String(row.r))}`);
  }
  return held;
}

/**
 * Revokes from the account every privilege (and role) it holds beyond `wanted`, one at a time, and
 * returns what it revoked. Run after the GRANTs: what is wanted is never taken away, not even briefly.
 */
export async function revokeExtraPrivileges(connection: mysql.Connection, account: DeclaredAccount): Promise<string[]> {
  const who = `${connection.escape(account.user)}@${connection.escape(account.host)}`;
  const extra = [...(await heldPrivileges(connection, account.user, account.host))]
    .filter((p) => !account.privileges.has(p))
    .sort();
  for (const privilege of extra) {
    await connection.query(
      privilege.startsWith('ROLE ')
        ? `REVOKE ${privilege.slice('ROLE '.length)} FROM ${who}`
        : `REVOKE ${privilege} FROM ${who}`,
    );
  }
  return extra;
}

// Is a node fit to take queries? The answer Percona's clustercheck gives: only when it is Synced
// (wsrep_local_state 4), in the Primary component and wsrep_ready is ON. HAProxy's `option mysql-check`
// only logs in, so it keeps a non-Primary node (queries fail with ERROR 1047) or a Joiner/Donor UP.
// The status variables need no privilege: a USAGE-only account reads them.
import mysql from 'mysql2/promise';

/** The variables judged, as SHOW GLOBAL STATUS names them. */
export const WSREP_VARIABLES = [
  'wsrep_local_state',
  'wsrep_local_state_comment',
  'wsrep_cluster_status',
  'wsrep_ready',
  'wsrep_cluster_size',
  'wsrep_connected',
] as const;

export const SYNCED = 4;

export interface WsrepHealth {
  ok: boolean;
  /** Why not, in words; absent when ok. */
  reason?: string;
  /** The variables as read (strings, as the server sends them). */
  status: Record<string, string>;
}

/** Judges SHOW GLOBAL STATUS rows (Variable_name, Value). Pure. */
export function judgeWsrep(status: Record<string, string>): WsrepHealth {
  const problems: string[] = [];
  const state = status.wsrep_local_state;
  if (state === undefined) {
    return {
      ok: false,
      reason: 'The server reports no wsrep status: it does not run Galera (wsrep_on=OFF or no provider).',
      status,
    };
  }
  if (Number(state) !== SYNCED) {
    problems.push(`wsrep_local_state is ${state} (${status.wsrep_local_state_comment ?? 'unknown'}), not 4 (Synced)`);
  }
  if (status.wsrep_cluster_status !== 'Primary') {
    problems.push(`wsrep_cluster_status is ${status.wsrep_cluster_status ?? 'unknown'}, not Primary`);
  }
  if (status.wsrep_ready !== 'ON') problems.push(`wsrep_ready is ${status.wsrep_ready ?? 'unknown'}, not ON`);
  return problems.length === 0 ? { ok: true, status } : { ok: false, reason: `${problems.join('; ')}.`, status };
}

/** SHOW STATUS rows as a name -> value record. */
export function statusRecord(rows: readonly { Variable_name: unknown; Value: unknown }[]): Record<string, string> {
  return Object.fromEntries(rows.map((row) => [String(row.Variable_name).toLowerCase(), String(row.Value)]));
}

const query = (variables: readonly string[]) =>
  `SHOW GLOBAL STATUS WHERE Variable_name IN (${variables.map((name) => `'${name}'`).join(', ')})`;

/**
 * Reads the wsrep status (`variables`, by default the judged ones) of the server at `login` over a fresh
 * connection, bounded by `timeoutMs` for the connect and again for the query. Rejects when the server cannot be reached or does not answer in time.
 */
export async function readWsrepStatus(
  login: mysql.ConnectionOptions,
  timeoutMs: number,
  variables: readonly string[] = WSREP_VARIABLES,
): Promise<Record<string, string>> {
  const connection = await mysql.createConnection({ ...login, connectTimeout: timeoutMs });
  try {
    const [rows] = await connection.query<mysql.RowDataPacket[]>({ sql: query(variables), timeout: timeoutMs });
    return statusRecord(rows as { Variable_name: unknown; Value: unknown }[]);
  } finally {
    // QUIT, so the server logs no aborted connection; a server that does not close in time is cut off.
    const closing = connection.end().catch(() => undefined);
    const timer = new Promise<'late'>((resolve) => setTimeout(resolve, timeoutMs, 'late').unref());
    if ((await Promise.race([closing, timer])) === 'late') connection.destroy();
  }
}

/** readWsrepStatus() then judgeWsrep(); an unreachable node is not ok, with the error as its reason. */
export async function checkNode(login: mysql.ConnectionOptions, timeoutMs: number): Promise<WsrepHealth> {
  try {
    return judgeWsrep(await readWsrepStatus(login, timeoutMs));
  } catch (error) {
    return {
      ok: false,
      reason: `Cannot read the node's status: ${error instanceof Error ? error.message : String(error)}`,
      status: {},
    };
  }
}

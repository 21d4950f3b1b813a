// Stopping statements on the server from outside their connections. Closing a statement's own socket
// does not stop it: the server runs it to its end (a SLEEP, a lock wait, a COMMIT) for nobody. KILL QUERY
// from a short-lived side connection does, and leaves the connection usable; an account may kill its own
// threads without any privilege, so the app's account through the same proxy is enough.
import mysql from 'mysql2/promise';

export interface SideConnectionOptions {
  host: string;
  port: number;
  user: string;
  password: string;
  connectTimeoutMs: number;
}

/** Sends KILL QUERY for each thread id; a thread that has finished meanwhile is no error. */
export async function killQueries(options: SideConnectionOptions, threadIds: number[]): Promise<void> {
  const side = await mysql.createConnection({
    host: options.host,
    port: options.port,
    user: options.user,
    password: options.password,
    connectTimeout: options.connectTimeoutMs,
  });
  try {
    for (const id of threadIds) await side.query('KILL QUERY ?', [id]).catch(() => undefined);
  } finally {
    await side.end().catch(() => undefined);
  }
}

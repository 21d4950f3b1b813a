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
  /** The pool's TLS CA, when it uses TLS: the side connection logs in as the same account. */
  tlsCa?: string;
}

/** mysql2's `ssl` option: the chain verified against `ca` (rejectUnauthorized is mysql2's default). */
export function tlsOption(ca: string | undefined): { ssl?: { ca: string } } {
  return ca === undefined ? {} : { ssl: { ca } };
}

/** The short-lived connection a KILL QUERY goes over: the app user, through the same HAProxy. */
function openSideConnection(options: SideConnectionOptions): Promise<mysql.Connection> {
  return mysql.createConnection({
    host: options.host,
    port: options.port,
    user: options.user,
    password: options.password,
    connectTimeout: options.connectTimeoutMs,
    ...tlsOption(options.tlsCa),
  });
}

/** Sends KILL QUERY for each thread id; a thread that has finished meanwhile is no error. */
export async function killQueries(options: SideConnectionOptions, threadIds: number[]): Promise<void> {
  const side = await openSideConnection(options);
  try {
    for (const id of threadIds) await side.query('KILL QUERY ?', [id]).catch(() => undefined);
  } finally {
    await side.end().catch(() => undefined);
  }
}

/** What KILL QUERY found: the thread (running or idle), or no such thread any more (it had ended). */
export type KillAnswer = 'sent' | 'no_such_thread';

/** KILL QUERY for one thread over its own side connection; rejects when that connection cannot be opened. */
export async function killQuery(options: SideConnectionOptions, threadId: number): Promise<KillAnswer> {
  const side = await openSideConnection(options);
  try {
    await side.query('KILL QUERY ?', [threadId]);
    return 'sent';
  } catch (error) {
    if ((error as { errno?: unknown }).errno === 1094) return 'no_such_thread'; // ER_NO_SUCH_THREAD
    throw error;
  } finally {
    // At once: the side connection holds one of HAProxy's server slots while it is open.
    await side.end().catch(() => undefined);
  }
}

/**
 * The worker's side connections, one at a time: a KILL waits until the previous side connection has
 * closed, so a worker never holds more than one HAProxy server slot beyond its pool (the maxconn budget
 * in cluster/settings.ts counts exactly one).
 */
export class QueryKiller {
  private previous: Promise<unknown> = Promise.resolve();

  constructor(private readonly options: SideConnectionOptions) {}

  killQuery(threadId: number): Promise<KillAnswer> {
    return this.inTurn(() => killQuery(this.options, threadId));
  }

  killQueries(threadIds: number[]): Promise<void> {
    return this.inTurn(() => killQueries(this.options, threadIds));
  }

  private inTurn<T>(work: () => Promise<T>): Promise<T> {
    const turn = this.previous.then(work);
    this.previous = turn.catch(() => undefined);
    return turn;
  }
}

// The one-connection pool: a mysql2 pool behind a Gate. mysql2 has no acquire timeout and no public
// stats, so this wrapper keeps its own counters (the pg-pool habit: plain getters for its state) and
// bounds both the wait queue and the wait time. It never imports prom-client: it reports to a DbObserver.
// The Gate is the only queue: a connection released while someone waits is handed straight to the oldest
// waiter, never back through mysql2's pool (whose getConnection answers on a later process.nextTick, i.e.
// only once the releasing request has written its whole HTTP response), and a waiter that asked for it
// (acquire's onLeased) sends its statement within that same call.
import mysql from 'mysql2';
import type { CancelSignal } from './cancel-signal';
import { cancelled, Gate, GateRejectedError } from './gate';
import { type KillAnswer, QueryKiller, tlsOption } from './kill-queries';
import { fastBudgetMs, ServiceTimes, stalls } from './queue-rule';
import type { ConnectionCloseReason, DbObserver } from './observer';
import { poolWaitRecorder } from './request-waits';

export interface PoolOptions {
  host: string;
  port: number;
  user: string;
  password: string;
  database: string;
  /** Connections at most (DB_POOL_SIZE, 1 by default: the point of this project). */
  limit: number;
  /** Requests that may wait, counting those that share another's statement (DB_QUEUE_LIMIT). */
  queueLimit: number;
  /**
   * Statements that may wait (DB_QUEUE_STATEMENT_LIMIT): a request of its own each, or one shared by a
   * batch of identical reads or by coalesced point reads. Default and at most: queueLimit.
   */
  statementQueueLimit?: number;
  acquireTimeoutMs: number;
  connectTimeoutMs: number;
  /** TLS to the server, the chain verified against this CA (PEM); plain without it (DB_TLS_CA_FILE). */
  tlsCa?: string;
  /**
   * Server-side limit per statement, set on each new connection (MariaDB max_statement_time, MySQL
   * max_execution_time): the server interrupts a runaway statement and the connection stays usable,
   * so a timeout neither leaves a statement running on the server nor costs a reconnect.
   */
  statementTimeoutMs?: number;
  /**
   * InnoDB row-lock wait per statement, in whole seconds (innodb_lock_wait_timeout; MySQL's default 50 s
   * would hold the worker's only connection that long behind someone else's transaction).
   */
  lockWaitTimeoutSeconds?: number;
  /**
   * Identical reads that queue for the connection share one statement (DB_READ_BATCHING; done by Db,
   * which reads it here). Default true.
   */
  readBatching?: boolean;
  /**
   * Different keys one coalesced point read may ask for (DB_READ_BATCH_MAX; Db.readByKey). Default 64.
   */
  readBatchMax?: number;
}

export interface PoolStats {
  limit: number;
  /** Connections checked out by a request right now. */
  used: number;
  /** Open connections nobody holds. */
  idle: number;
  /** Requests that asked for a connection and do not have one yet (queued or connecting). */
  pending: number;
  open: number;
  queueLimit: number;
  acquireTimeoutMs: number;
  created: number;
  closed: Record<ConnectionCloseReason, number>;
  rejected: { queue_full: number; timeout: number };
}

type PoolConnection = mysql.PoolConnection & { stream?: NodeJS.EventEmitter & { destroy(): void } };

export class Lease {
  private done = false;
  private markReleased: () => void = () => undefined;
  /** Resolves once the lease is released. */
  readonly released = new Promise<void>((resolve) => (this.markReleased = resolve));
  /**
   * Set when the pool stopped this lease's statement because the worker is shutting down: the error
   * that statement ends with says "shutting down", not "the database failed".
   */
  interrupted = false;
  /** When the connection was handed to this lease (performance.now()). */
  readonly leasedAt = performance.now();

  constructor(
    readonly connection: PoolConnection,
    private readonly onEnd: (lease: Lease, destroy: boolean) => void,
  ) {}

  /** Gives the connection back to the pool, or closes it when it may be mid-statement or broken. */
  release(destroy = false): void {
    if (this.done) return;
    this.done = true;
    this.onEnd(this, destroy);
    this.markReleased();
  }
}

/** A request waiting on another's queued statement (DbPool.joinQueue); each method ends its wait once. */
export interface JoinedRequest {
  /** That statement got the connection: the request's wait is observed like an acquire's. */
  served(): void;
  /** That statement was refused, or this request's client left (cancelled): counted like an acquire's refusal. */
  refused(error: unknown): void;
  /**
   * The request whose queue place the statement holds has left: this one takes that place over and gives
   * its own back (pending stays one per waiting request); the statement's acquire is now counted for it.
   */
  takeOver(): void;
}

/** The refusal of work the pool can no longer take: the worker is shutting down (503 shutting_down). */
export function poolClosing(): GateRejectedError {
  return new GateRejectedError('closed', 'The pool is closing.');
}

/** See PoolOptions.readBatchMax and config.ts (DB_READ_BATCH_MAX) for why. */
export const DEFAULT_READ_BATCH_MAX = 64;

/** How long interrupt() tries to reach the server for KILL QUERY, and then waits for the statements to return. */
const KILL_TIMEOUT_MS = 400;
const KILLED_RETURN_MS = 300;
/**
 * How long a cancellation tries to open its side connection. On loopback it takes a few ms; past this
 * (HAProxy queueing for a free server slot, a stuck proxy) the KILL is given up and counted `failed`.
 */
const CANCEL_CONNECT_TIMEOUT_MS = 1000;

/**
 * Queued on the new connection before the caller's first statement (mysql2 runs a connection's commands
 * in order). MariaDB takes seconds in max_statement_time; MySQL has no such variable and takes
 * milliseconds in max_execution_time (SELECT only). A server with neither keeps the client-side backstop.
 */
function limitStatementTime(connection: PoolConnection, timeoutMs: number): void {
  connection.query('SET SESSION max_statement_time = ?', [timeoutMs / 1000], (error) => {
    if (error && !error.fatal) connection.query('SET SESSION max_execution_time = ?', [timeoutMs], () => undefined);
  });
}

export class DbPool {
  private readonly pool: mysql.Pool;
  private readonly gate: Gate<PoolConnection>;
  private leased = 0;
  private connecting = 0;
  private openConnections = 0;
  private created = 0;
  private readonly closed: Record<ConnectionCloseReason, number> = { error: 0, destroyed: 0, remote: 0, shutdown: 0 };
  private readonly rejected = { queue_full: 0, timeout: 0 };
  private readonly destroyedByUs = new WeakSet<object>();
  private readonly leases = new Set<Lease>();
  /** Aborted by end() and interrupt(): connects in progress are given up. */
  private readonly stopping = new AbortController();
  private ending = false;
  /** Side connections for KILL QUERY: the app's account through the same proxy, one at a time. */
  private readonly killer: QueryKiller;
  /** retireConnections(): how often it was called, the open connections, and the count when each was opened. */
  private retirements = 0;
  private readonly openSet = new Set<PoolConnection>();
  private readonly retirementsAtOpen = new WeakMap<object, number>();
  /** Recent service time per statement kind, for the queue rule (queue-rule.ts). */
  private readonly serviceTimes: ServiceTimes;
  private readonly fastBudgetMs: number;

  constructor(
    private readonly options: PoolOptions,
    private readonly observer: DbObserver,
  ) {
    this.killer = new QueryKiller({
      ...options,
      connectTimeoutMs: Math.min(options.connectTimeoutMs, CANCEL_CONNECT_TIMEOUT_MS),
    });
    this.fastBudgetMs = fastBudgetMs(options);
    this.serviceTimes = new ServiceTimes(this.fastBudgetMs);
    this.gate = new Gate<PoolConnection>({
      limit: options.limit,
      queueLimit: options.queueLimit,
      statementLimit: options.statementQueueLimit,
      waitTimeoutMs: options.acquireTimeoutMs,
      stalled: () => this.stalled(),
    });
    this.pool = mysql.createPool({
      host: options.host,
      port: options.port,
      user: options.user,
      password: options.password,
      database: options.database,
      charset: 'utf8mb4_unicode_ci',
      connectionLimit: options.limit,
      // Keep every connection open while idle, like the reference's pool_recycle=-1: the proxy's and
      // server's idle timeouts (haproxy.cfg) decide when an idle connection dies, and a dead one is
      // replaced on next use (see Db's retry of idempotent queries).
      maxIdle: options.limit,
      // Our Gate admits at most `limit` callers, so mysql2's own unbounded queue is never used.
      queueLimit: 0,
      waitForConnections: true,
      connectTimeout: options.connectTimeoutMs,
      ...tlsOption(options.tlsCa),
      enableKeepAlive: true,
      keepAliveInitialDelay: 30_000,
    });
    this.pool.on('connection', (connection) => {
      this.track(connection as PoolConnection);
      if (options.statementTimeoutMs) limitStatementTime(connection as PoolConnection, options.statementTimeoutMs);
      if (options.lockWaitTimeoutSeconds) {
        (connection as PoolConnection).query(
          'SET SESSION innodb_lock_wait_timeout = ?',
          [options.lockWaitTimeoutSeconds],
          () => undefined,
        );
      }
    });
  }

  stats(): PoolStats {
    return {
      limit: this.options.limit,
      used: this.leased,
      idle: Math.max(0, this.openConnections - this.leased),
      pending: this.gate.waiting + this.gate.joined + this.connecting,
      open: this.openConnections,
      queueLimit: this.options.queueLimit,
      acquireTimeoutMs: this.options.acquireTimeoutMs,
      created: this.created,
      closed: { ...this.closed },
      rejected: { ...this.rejected },
    };
  }

  /** Whether identical queued reads share one statement (PoolOptions.readBatching). */
  get readBatching(): boolean {
    return this.options.readBatching ?? true;
  }

  /** The most different keys one coalesced read asks for (PoolOptions.readBatchMax). */
  get readBatchMax(): number {
    return this.options.readBatchMax ?? DEFAULT_READ_BATCH_MAX;
  }

  /**
   * Waits (boundedly) for the connection. Throws GateRejectedError (also when `signal` aborted before
   * the connection was handed over, and when the pool stops), or the driver's connect error.
   * `onLeased` runs synchronously as the lease is made, before the promise settles: when the connection
   * is handed over from a releasing request, inside that request's release(), so a statement sent from
   * it leaves with no event-loop turn or promise hop after the previous answer. It must not throw.
   * `kind`: the statement's kind (its query name), whose recent service time decides whether it waits as
   * a fast statement (queue-rule.ts); the time this lease holds the connection is measured under it.
   */
  acquire(signal?: CancelSignal, onLeased?: (lease: Lease) => void, kind?: string): Promise<Lease> {
    const askedAt = performance.now();
    // The access log's poolWaitMs, charged on each way out of acquire() to the request asking now.
    const chargeWait = poolWaitRecorder();
    return new Promise<Lease>((resolve, reject) => {
      const refused = (error: unknown) => {
        this.countRefusal(error);
        chargeWait(askedAt);
        reject(error);
      };
      this.gate.wait(
        signal,
        (handoff) => {
          if (handoff) {
            resolve(this.lease(handoff, askedAt, chargeWait, onLeased, kind));
            return;
          }
          this.open(signal).then(
            (connection) => resolve(this.lease(connection, askedAt, chargeWait, onLeased, kind)),
            refused,
          );
        },
        refused,
        this.serviceTimes.isFast(kind),
      );
    });
  }

  /**
   * For read batching (db.ts): a request answered by the statement of a request already queued takes a
   * place in the wait queue all the same (counted in `pending` and against the queue limit; throws
   * queue_full, counted, when there is none), given back through the returned JoinedRequest.
   */
  joinQueue(): JoinedRequest {
    const askedAt = performance.now();
    const chargeWait = poolWaitRecorder();
    try {
      this.gate.join();
    } catch (error) {
      this.countRefusal(error);
      chargeWait(askedAt);
      throw error;
    }
    let placed = true;
    let counted = true;
    let done = false;
    const unjoin = () => {
      if (placed) this.gate.unjoin();
      placed = false;
    };
    const end = (observe: () => void) => {
      if (done) return;
      done = true;
      unjoin();
      if (counted) observe();
      chargeWait(askedAt);
    };
    return {
      served: () => end(() => this.observer.acquired((performance.now() - askedAt) / 1000)),
      refused: (error) => end(() => this.countRefusal(error)),
      takeOver: () => {
        unjoin();
        counted = false;
      },
    };
  }

  /**
   * Counts a refusal by the pool (queue full or timed out; not a cancellation or a shutdown). stats()
   * has one queue_full for both queue bounds, the observer says which bound it was.
   */
  private countRefusal(error: unknown): void {
    if (!(error instanceof GateRejectedError) || (error.reason !== 'queue_full' && error.reason !== 'timeout')) return;
    this.rejected[error.reason] += 1;
    this.observer.rejected(error.bound === 'statements' ? 'statement_queue_full' : error.reason);
  }

  /** A connection from mysql2's pool for a caller holding a Gate slot; the slot is given back on failure. */
  private async open(signal?: CancelSignal): Promise<PoolConnection> {
    this.connecting += 1;
    try {
      const retirements = this.retirements;
      const connection = await this.connect();
      // A connect begun before a retireConnections() may have gone through the old proxy process.
      this.retirementsAtOpen.set(
        connection,
        Math.min(this.retirementsAtOpen.get(connection) ?? retirements, retirements),
      );
      // The client may have left while the connection was being opened (a new one through a slow
      // proxy): nobody would read the answer, so the statement is never sent. The connection is kept.
      if (signal?.aborted) {
        connection.release();
        throw cancelled();
      }
      return connection;
    } catch (error) {
      this.gate.leave();
      throw error;
    } finally {
      this.connecting -= 1;
    }
  }

  private lease(
    connection: PoolConnection,
    askedAt: number,
    chargeWait: (askedAt: number) => void,
    onLeased?: (lease: Lease) => void,
    kind?: string,
  ): Lease {
    this.leased += 1;
    this.observer.acquired((performance.now() - askedAt) / 1000);
    chargeWait(askedAt);
    const lease = new Lease(connection, (ended, destroy) => {
      this.leases.delete(ended);
      this.leased -= 1;
      const heldMs = performance.now() - ended.leasedAt;
      if (kind !== undefined) this.serviceTimes.observe(kind, heldMs);
      this.observer.released(heldMs / 1000);
      if (destroy || this.retired(ended.connection)) {
        this.destroyedByUs.add(ended.connection);
        ended.connection.destroy();
        // mysql2's destroy() only half-closes the socket (end()), so it stays open until the server
        // finishes the statement we gave up on (a 5 s SLEEP keeps it 5 s, a lock wait far longer) and
        // the pool counts two open connections. Closing the socket ends it here and now.
        ended.connection.stream?.destroy();
        this.gate.leave();
        return;
      }
      // Someone waits: the connection goes straight to them (and may be sending their statement when
      // leave() returns). Otherwise back to mysql2's pool, which keeps it and drops it if it dies idle.
      if (this.gate.waiting > 0) {
        this.gate.leave(ended.connection);
      } else {
        ended.connection.release();
        this.gate.leave();
      }
    });
    this.leases.add(lease);
    onLeased?.(lease);
    return lease;
  }

  /**
   * mysql2's getConnection, given up at once when the pool stops: a connect through a frozen proxy would
   * hold its request until connectTimeoutMs, and then fail with mysql2's bare "Pool is closed.".
   */
  private connect(): Promise<PoolConnection> {
    const stopping = this.stopping.signal;
    return new Promise<PoolConnection>((resolve, reject) => {
      const giveUp = () => reject(poolClosing());
      stopping.addEventListener('abort', giveUp, { once: true });
      this.pool.getConnection((error, conn) => {
        stopping.removeEventListener('abort', giveUp);
        if (stopping.aborted) {
          if (!error) conn.release();
          reject(poolClosing());
        } else if (error) {
          reject(error);
        } else {
          resolve(conn as PoolConnection);
        }
      });
    });
  }

  /**
   * For a worker whose shutdown timeout ran out: refuses waiting and new work, gives up connects in
   * progress, and has the server stop the statements still running (KILL QUERY, see kill-queries.ts),
   * so their requests answer 503 at once and nothing keeps running on the server for a gone worker.
   * A connection whose statement has not returned shortly after is closed.
   */
  async interrupt(): Promise<void> {
    this.gate.close();
    this.stopping.abort();
    const running = [...this.leases];
    if (running.length === 0) return;
    for (const lease of running) lease.interrupted = true;
    const threadIds = running.map((lease) => lease.connection.threadId);
    await within(
      KILL_TIMEOUT_MS,
      this.killer.killQueries(threadIds).catch(() => undefined),
    );
    await within(KILLED_RETURN_MS, Promise.all(running.map((lease) => lease.released)));
    for (const lease of running) lease.release(true);
  }

  /**
   * Has the server stop the statement running on `lease`'s connection (KILL QUERY over a side connection;
   * the connection itself stays open). The caller must keep the lease until this settles: released
   * earlier, the connection could already run the next request's statement when the KILL arrives.
   * Rejects when the side connection could not be opened.
   */
  killStatement(lease: Lease): Promise<KillAnswer> {
    return this.killer.killQuery(lease.connection.threadId);
  }

  /** Refuses new work, then closes the connections (after in-flight requests have released them). */
  async end(): Promise<void> {
    this.ending = true;
    this.gate.close();
    this.stopping.abort();
    await new Promise<void>((resolve) => this.pool.end(() => resolve()));
  }

  /**
   * Replaces every open connection by a new one, each once it is free: a connection in use is closed
   * when its request releases it (between statements, never inside a transaction, which a request runs
   * within one lease), an idle one at once; the next statement opens a new connection. For an in-place
   * HAProxy reload: the old HAProxy process keeps the pooled connections until its hard-stop-after cuts
   * them, possibly mid-statement, while the new one takes new connections (HikariCP's maxLifetime, on
   * demand). A retired connection's close counts as `destroyed`. Returns how many connections were open.
   */
  retireConnections(): number {
    this.retirements += 1;
    const leased = new Set([...this.leases].map((lease) => lease.connection));
    // While mysql2 is handing out an idle connection (a connect in progress), closing idle ones could
    // close the one handed out; those are retired at their release instead.
    if (this.connecting === 0) {
      for (const connection of this.openSet) {
        if (leased.has(connection)) continue;
        this.destroyedByUs.add(connection);
        connection.destroy();
        connection.stream?.destroy();
      }
    }
    return this.openSet.size;
  }

  /** Whether a running statement has held its connection long enough to stall the queue (queue-rule.ts). */
  private stalled(): boolean {
    const now = performance.now();
    for (const lease of this.leases) if (stalls(now - lease.leasedAt, this.fastBudgetMs)) return true;
    return false;
  }

  private retired(connection: PoolConnection): boolean {
    return (this.retirementsAtOpen.get(connection) ?? 0) < this.retirements;
  }

  private track(connection: PoolConnection): void {
    this.created += 1;
    this.openConnections += 1;
    this.observer.connectionCreated();
    this.openSet.add(connection);
    let failed = false;
    // A fatal error on an idle connection is emitted with nobody waiting for it; this listener keeps it
    // from becoming an uncaught 'error' event, and remembers it for the close reason. mysql2 also emits
    // PROTOCOL_CONNECTION_LOST when the peer merely closed an idle connection (server KILL, proxy idle
    // timeout or restart): that is the 'remote' close, not an 'error'.
    connection.on('error', (error: { code?: unknown }) => {
      if (error.code !== 'PROTOCOL_CONNECTION_LOST') failed = true;
    });
    const socket = connection.stream;
    if (!socket) return;
    socket.once('close', () => {
      this.openSet.delete(connection);
      this.openConnections -= 1;
      const reason: ConnectionCloseReason = this.ending
        ? 'shutdown'
        : this.destroyedByUs.has(connection)
          ? 'destroyed'
          : failed
            ? 'error'
            : 'remote';
      this.closed[reason] += 1;
      this.observer.connectionClosed(reason);
    });
  }
}

/** Waits for `work`, but no longer than `ms`. */
function within(ms: number, work: Promise<unknown>): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)));
  return Promise.race([work.then(() => undefined), timeout]).finally(() => clearTimeout(timer));
}

// Which request the pool charges its waits to (the access log's poolWaitMs), without AsyncLocalStorage:
// on Node 20 an AsyncLocalStorage turns on async_hooks' promise hooks for every promise of the process,
// about 7 us of each GET / (issue 16 item 6, bench/README.md). Instead the caller names the request
// around the synchronous call that starts its database work (chargeWaitsTo), and the pool captures it
// there: DbPool.acquire and joinQueue run synchronously inside Db.query, readByKey and transaction, before
// their first await. A call started later (a retry after a lost connection, a purge started after the
// answer) is charged to nobody. Outside a request (start-up checks, unit tests) nothing is charged.
// The database layer owns this; the HTTP layer only creates and reads the figures.

export interface RequestWaits {
  /** Time this request spent waiting for a database connection, summed over its acquires, in ms. */
  poolWaitMs: number;
  /** X-Request-Id, the exemplar of the query histogram (db.ts names it when a statement starts). */
  requestId?: string;
}

let current: RequestWaits | undefined;

/** Runs `work` (a call that starts database work) with its waits charged to `waits`. */
export function chargeWaitsTo<T>(waits: RequestWaits | undefined, work: () => T): T {
  if (waits === undefined) return work();
  const previous = current;
  current = waits;
  try {
    return work();
  } finally {
    current = previous;
  }
}

/**
 * For the request named now: a function that adds the time since `askedAt` (a performance.now()
 * reading) to its pool wait, whenever it is called. Captured up front because the pool may hand a
 * connection to a waiting request from within another request's code (the one releasing it).
 */
export function poolWaitRecorder(): (askedAt: number) => void {
  const waits = current;
  return waits ? (askedAt) => void (waits.poolWaitMs += performance.now() - askedAt) : noCharge;
}

function noCharge(): void {}

/** The id of the request named now (synchronously inside chargeWaitsTo); undefined otherwise. */
export function currentRequestId(): string | undefined {
  return current?.requestId;
}

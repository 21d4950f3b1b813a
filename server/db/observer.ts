// What the pool and the query layer report as they work. The metrics module implements it; the database
// code never imports prom-client (the prom-client habit: measured code stays unaware of the registry).

export type QueryOutcome = 'ok' | 'error' | 'timeout' | 'cancelled';
export type ConnectionCloseReason = 'error' | 'destroyed' | 'remote' | 'shutdown';
/**
 * Why the pool refused a request: `queue_full`, as many requests already waiting as the queue holds
 * (DB_QUEUE_LIMIT); `statement_queue_full`, as many statements of slow or unknown cost already waiting
 * (DB_QUEUE_STATEMENT_LIMIT; queue-rule.ts);
 * `timeout`, no connection within the acquire timeout. Both queue bounds answer the client `queue_full`.
 */
export type PoolRejectReason = 'queue_full' | 'statement_queue_full' | 'timeout';
/** How requests shared a read's statement: identical reads, or point reads coalesced into one IN (...). */
export type ReadBatchKind = 'identical' | 'coalesced';
/** Why the worker stopped a running statement: its HTTP client left, or the worker's backstop fired. */
export type CancelReason = 'client_gone' | 'timeout';
/**
 * What the KILL QUERY did: `killed` stopped the statement, `too_late` found it already finished,
 * `failed` could not reach the server over the side connection (the statement ran on).
 */
export type CancelResult = 'killed' | 'too_late' | 'failed';

export interface DbObserver {
  acquired(waitSeconds: number): void;
  released(useSeconds: number): void;
  rejected(reason: PoolRejectReason): void;
  connectionCreated(): void;
  connectionClosed(reason: ConnectionCloseReason): void;
  queryFinished(query: string, outcome: QueryOutcome, seconds: number, errorCode?: string, requestId?: string): void;
  queryCancelled(reason: CancelReason, result: CancelResult): void;
  /**
   * A batchable read was sent (DB_READ_BATCHING on): `requests` reads share this statement, identical
   * ones or (`coalesced`) point reads of up to DB_READ_BATCH_MAX keys.
   */
  readBatched(query: string, requests: number, kind: ReadBatchKind): void;
}

export const silentObserver: DbObserver = {
  acquired: () => undefined,
  released: () => undefined,
  rejected: () => undefined,
  connectionCreated: () => undefined,
  connectionClosed: () => undefined,
  queryFinished: () => undefined,
  queryCancelled: () => undefined,
  readBatched: () => undefined,
};

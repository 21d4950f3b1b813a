// What the pool and the query layer report as they work. The metrics module implements it; the database
// code never imports prom-client (the prom-client habit: measured code stays unaware of the registry).

export type QueryOutcome = 'ok' | 'error' | 'timeout' | 'cancelled';
export type ConnectionCloseReason = 'error' | 'destroyed' | 'remote' | 'shutdown';
export type PoolRejectReason = 'queue_full' | 'timeout';

export interface DbObserver {
  acquired(waitSeconds: number): void;
  released(useSeconds: number): void;
  rejected(reason: PoolRejectReason): void;
  connectionCreated(): void;
  connectionClosed(reason: ConnectionCloseReason): void;
  queryFinished(query: string, outcome: QueryOutcome, seconds: number, errorCode?: string): void;
}

export const silentObserver: DbObserver = {
  acquired: () => undefined,
  released: () => undefined,
  rejected: () => undefined,
  connectionCreated: () => undefined,
  connectionClosed: () => undefined,
  queryFinished: () => undefined,
};

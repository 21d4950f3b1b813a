// Pool and query metrics. Gauges are read in collect() from the pool's own counters at scrape time, so
// they are true at that instant; histograms and counters are fed by the DbObserver interface.
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { DbObserver } from '../db/observer';
import type { PoolStats } from '../db/pool';
import { BATCH_SIZE_BUCKETS, LATENCY_BUCKETS, METRIC } from './names';
import { QueryDurationHistogram } from './query-duration';

export function registerDbMetrics(registry: Registry, readStats: () => PoolStats): DbObserver {
  const registers = [registry];
  new Gauge({
    name: METRIC.poolConnections,
    help: 'Open pool connections by state: used (checked out by a request) or idle.',
    labelNames: ['state'],
    registers,
    collect() {
      const stats = readStats();
      this.set({ state: 'used' }, stats.used);
      this.set({ state: 'idle' }, stats.idle);
    },
  });
  new Gauge({
    name: METRIC.poolConnectionsMax,
    help: 'Configured connection limit of the pool (DB_POOL_SIZE).',
    registers,
    collect() {
      this.set(readStats().limit);
    },
  });
  new Gauge({
    name: METRIC.poolPending,
    help: 'Requests waiting for a pool connection right now (queued or connecting).',
    registers,
    collect() {
      this.set(readStats().pending);
    },
  });
  const wait = new Histogram({
    name: METRIC.poolWait,
    help: 'Time from asking the pool for a connection to getting it.',
    buckets: LATENCY_BUCKETS,
    registers,
  });
  const use = new Histogram({
    name: METRIC.poolUse,
    help: 'Time a connection was held per checkout.',
    buckets: LATENCY_BUCKETS,
    registers,
  });
  const rejected = new Counter({
    name: METRIC.poolRejected,
    help: 'Requests refused by the pool, by reason: queue_full (DB_QUEUE_LIMIT requests waiting), statement_queue_full (DB_QUEUE_STATEMENT_LIMIT statements waiting), timeout (no connection within DB_ACQUIRE_TIMEOUT_MS).',
    labelNames: ['reason'],
    registers,
  });
  const created = new Counter({
    name: METRIC.poolCreated,
    help: 'Connections the pool opened (a reconnect after a failure counts again).',
    registers,
  });
  const closed = new Counter({
    name: METRIC.poolClosed,
    help: 'Connections that closed, by reason: error, destroyed (by the pool after a timeout or failure), remote (proxy or server hung up), shutdown.',
    labelNames: ['reason'],
    registers,
  });
  const queryDuration = new QueryDurationHistogram(registry);
  const queryErrors = new Counter({
    name: METRIC.queryErrors,
    help: 'Failed queries by name and MySQL or driver error code.',
    labelNames: ['query', 'code'],
    registers,
  });
  const cancellations = new Counter({
    name: METRIC.queryCancellations,
    help: 'Running statements the worker stopped with KILL QUERY over a side connection, by reason (client_gone, timeout) and result (killed, too_late: it had finished, failed: the side connection failed).',
    labelNames: ['reason', 'result'],
    registers,
  });
  const readBatchSize = new Histogram({
    name: METRIC.readBatchSize,
    help: 'Requests served per statement of a batchable read (list_todos, get_todo) with DB_READ_BATCHING on, by kind: identical reads that queued together, or point reads of different keys coalesced into one IN (...). 1: it ran alone.',
    labelNames: ['query', 'kind'],
    buckets: BATCH_SIZE_BUCKETS,
    registers,
  });

  // Series that exist from the first scrape, so rate() and alerts see a 0 rather than nothing.
  for (const reason of ['queue_full', 'statement_queue_full', 'timeout']) rejected.inc({ reason }, 0);
  for (const reason of ['error', 'destroyed', 'remote', 'shutdown']) closed.inc({ reason }, 0);
  for (const reason of ['client_gone', 'timeout']) {
    for (const result of ['killed', 'too_late', 'failed']) cancellations.inc({ reason, result }, 0);
  }

  return {
    acquired: (seconds) => wait.observe(seconds),
    released: (seconds) => use.observe(seconds),
    rejected: (reason) => rejected.inc({ reason }),
    connectionCreated: () => created.inc(),
    connectionClosed: (reason) => closed.inc({ reason }),
    queryFinished: (query, outcome, seconds, errorCode, requestId) => {
      queryDuration.record(query, outcome, seconds, requestId);
      // A cancelled query was stopped, or finished, for a client that left: not an error.
      if (outcome === 'error' || outcome === 'timeout') queryErrors.inc({ query, code: errorCode ?? 'other' });
    },
    queryCancelled: (reason, result) => cancellations.inc({ reason, result }),
    readBatched: (query, requests, kind) => readBatchSize.observe({ query, kind }, requests),
  };
}

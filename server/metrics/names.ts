// Metric names as constants: the dashboard, alert rules and tests refer to these exact strings.
export const METRIC = {
  poolConnections: 'db_pool_connections',
  poolConnectionsMax: 'db_pool_connections_max',
  poolPending: 'db_pool_pending_requests',
  poolWait: 'db_pool_wait_seconds',
  poolUse: 'db_pool_use_seconds',
  poolRejected: 'db_pool_rejected_total',
  poolCreated: 'db_pool_connections_created_total',
  poolClosed: 'db_pool_connections_closed_total',
  queryDuration: 'db_query_duration_seconds',
  queryErrors: 'db_query_errors_total',
  queryCancellations: 'db_query_cancellations_total',
  readBatchSize: 'db_read_batch_size',
  httpRequests: 'http_requests_total',
  httpDuration: 'http_request_duration_seconds',
  httpInFlight: 'http_requests_in_flight',
  httpHealthChecks: 'http_health_checks_total',
  appInfo: 'app_info',
  idempotencyReplays: 'idempotency_replays_total',
  idempotencyRefusals: 'idempotency_refusals_total',
} as const;

/** Requests served by one batched read (DB_READ_BATCHING): 1 alone, up to the queue limit. */
export const BATCH_SIZE_BUCKETS = [1, 2, 4, 8, 16, 32, 64];

/** 0.5 ms to 60 s: a primary-key read lands in the first buckets, the longest /sleep in the last. */
export const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

// The worker's settings (read by server/config.ts), as the schema lists them. The stack passes each of
// these to every worker it starts (cluster/ecosystem.ts), and checks them with its own before starting.
import type { SettingSchema } from './schema';

export const WORKER_SETTINGS: readonly SettingSchema[] = [
  { name: 'PORT', default: '8000', meaning: "The worker's HTTP port.", part: 'workers', perWorker: true },
  { name: 'WORKER_HOST', default: '127.0.0.1', meaning: 'The address every worker listens on.', part: 'workers' },
  {
    name: 'WORKER_NAME',
    default: 'worker-8000',
    meaning: "The worker's name, the `worker` label of its metrics (worker-<PORT> by default).",
    part: 'workers',
    perWorker: true,
  },
  {
    name: 'HAPROXY_HOST',
    default: '127.0.0.1',
    meaning: "HAProxy's address, which the workers connect to.",
    part: 'haproxy',
  },
  {
    name: 'HAPROXY_PORT',
    default: '5555',
    meaning: "HAProxy's MySQL listener, which the workers connect to.",
    part: 'haproxy',
  },
  { name: 'DB_USER', default: 'haproxy_user', meaning: 'The app account the workers log in as.', part: 'database' },
  {
    name: 'DB_PASSWORD',
    default: '',
    meaning: "The app account's password (generated for the stack's own database; required for MYSQL_HOST).",
    part: 'database',
  },
  {
    name: 'DB_PASSWORD_FILE',
    default: '',
    meaning: 'A file whose first line is DB_PASSWORD, instead of the value (what the stack gives its workers).',
    part: 'database',
  },
  { name: 'DB_POOL_SIZE', default: '1', meaning: 'Database connections per worker, 1 to 100.', part: 'workers' },
  {
    name: 'DB_QUEUE_LIMIT',
    default: '1000',
    meaning: 'Requests that may wait for the connection, those sharing a statement included.',
    part: 'workers',
  },
  {
    name: 'DB_QUEUE_STATEMENT_LIMIT',
    default: '50',
    meaning:
      'Slow or not yet measured statements that may wait for the connection (a shared one counts once); fast ones are bounded by DB_QUEUE_LIMIT only.',
    part: 'workers',
  },
  {
    name: 'DB_ACQUIRE_TIMEOUT_MS',
    default: '10000',
    meaning: 'How long a request waits for the connection before 503, in ms.',
    part: 'workers',
  },
  {
    name: 'DB_CONNECT_TIMEOUT_MS',
    default: '3000',
    meaning: 'How long a connection attempt may take, in ms.',
    part: 'workers',
  },
  {
    name: 'DB_TLS_CA_FILE',
    default: '',
    meaning:
      "Connect to MySQL with TLS, verifying the server's certificate against this CA file (set by the stack over several hosts).",
    part: 'workers',
  },
  {
    name: 'DB_QUERY_TIMEOUT_MS',
    default: '',
    meaning: 'How long a statement may run, in ms ((SLEEP_MAX_SECONDS + 5) x 1000 by default).',
    part: 'workers',
  },
  {
    name: 'DB_LOCK_WAIT_TIMEOUT_SECONDS',
    default: '5',
    meaning: 'How long a write waits for a locked row before 503 row_locked, in s.',
    part: 'workers',
  },
  {
    name: 'DB_READ_BATCHING',
    default: '1',
    meaning: 'Identical reads waiting for the connection share one statement (1 or 0).',
    part: 'workers',
  },
  {
    name: 'DB_READ_BATCH_MAX',
    default: '64',
    meaning: 'Different ids one coalesced GET /todos/:id statement asks for, 1 to 1000.',
    part: 'workers',
  },
  { name: 'SLEEP_MAX_SECONDS', default: '60', meaning: 'The longest /sleep allowed, 0 to 290 s.', part: 'workers' },
  { name: 'BODY_LIMIT_BYTES', default: '16384', meaning: 'The largest JSON request body, in bytes.', part: 'workers' },
  {
    name: 'SHUTDOWN_TIMEOUT_MS',
    default: '10000',
    meaning: 'How long a stopping worker lets requests in flight finish, in ms.',
    part: 'workers',
  },
  {
    name: 'ACCESS_LOG',
    default: '1',
    meaning: "One JSON line per request in the worker's log (1 or 0).",
    part: 'workers',
  },
  {
    name: 'LOG_DIR',
    default: '',
    meaning: "The worker's log folder (the stack gives <STACK_DIR>/logs; stdout when unset).",
    part: 'workers',
    perWorker: true,
  },
  {
    name: 'LOG_MAX_BYTES',
    default: '16777216',
    meaning: "A worker's log is rotated at this size, in bytes.",
    part: 'workers',
  },
  { name: 'LOG_FILES', default: '4', meaning: 'Rotated log files kept per worker.', part: 'workers' },
  { name: 'METRICS', default: '1', meaning: 'Prometheus recording and /metrics (1 or 0).', part: 'workers' },
  {
    name: 'IDEMPOTENCY_KEY_TTL_SECONDS',
    default: '86400',
    meaning: 'How long an Idempotency-Key and its stored answer are kept, in s (at most 30 days).',
    part: 'workers',
  },
];

// The worker process: load config -> open its log -> open pool -> build app -> listen -> wait for the
// database and its migrations -> tell pm2 'ready'. On SIGINT/SIGTERM: stop accepting, let in-flight
// requests finish (bounded), close. SIGHUP reopens the log file (after an outside tool moved it).
import type { Server } from 'node:http';
import path from 'node:path';
import { createApp } from './app';
import { answerClientErrorsAsJson } from './http/client-error';
import { drainHttpServer, trackResponses } from './http/drain';
import { loadWorkerConfig } from './config';
import { Db } from './db/db';
import { type LineLogger, openWorkerLog } from './log/logger';
import { type DbObserver, silentObserver } from './db/observer';
import { DbPool } from './db/pool';
import { isRetireRequest } from './db/retire-request';
import { registerDbMetrics } from './metrics/db-metrics';
import { createRegistry } from './metrics/registry';
import { STOPPED_BEFORE_READY } from './startup/exit-codes';
import { latestMigration } from './startup/schema';
import { waitForDatabase } from './startup/wait-for-database';
import { version } from './version';

const CLIENT_TIMEOUT_GRACE_MS = 1000;
// A keep-alive client under load sends its next request within milliseconds; one that stays silent
// this long while the worker stops gets its idle connection closed.
const DRAIN_IDLE_GRACE_MS = 1000;
// At SHUTDOWN_TIMEOUT_MS the pool stops the statements still running (DbPool.interrupt); their requests
// get this long to send their 503 before the drain closes every connection.
const INTERRUPTED_ANSWER_MS = 500;
// pm2 SIGKILLs a worker at SHUTDOWN_TIMEOUT_MS + 2 s (cluster/ecosystem.ts). A connect stuck in a frozen
// proxy would keep pool.end() waiting up to DB_CONNECT_TIMEOUT_MS: the worker exits by itself before.
const EXIT_BACKSTOP_MS = 800;

/** Until the worker's log is open (a configuration error): one JSON line on stderr. */
let log: LineLogger = (line) => {
  process.stderr.write(`${JSON.stringify({ time: new Date().toISOString(), ...line })}\n`);
};

async function main(): Promise<void> {
  const config = loadWorkerConfig();
  const workerLog = openWorkerLog({
    worker: config.workerName,
    file:
      config.log.dir === undefined
        ? undefined
        : {
            path: path.join(config.log.dir, `${config.workerName}.log`),
            maxBytes: config.log.maxBytes,
            keep: config.log.files,
          },
  });
  log = workerLog.line;
  process.on('exit', () => workerLog.flushSync());
  process.on('SIGHUP', () => workerLog.reopen());
  // METRICS=0: no registry, so nothing is recorded (what the bench compares against; /metrics is 404).
  const registry = config.metrics
    ? createRegistry({ worker: config.workerName, version, port: config.port })
    : undefined;
  const observer: DbObserver = registry ? registerDbMetrics(registry, () => pool.stats()) : silentObserver;
  const pool = new DbPool(
    { ...config.db, limit: config.db.poolSize, statementTimeoutMs: config.db.queryTimeoutMs },
    observer,
  );
  // The server interrupts a statement at queryTimeoutMs; the client gives up one second later, only if
  // the server did not answer even then (stuck proxy or server).
  const db = new Db(pool, observer, config.db.queryTimeoutMs + CLIENT_TIMEOUT_GRACE_MS, config.db.queryTimeoutMs);
  const app = createApp({
    db,
    registry,
    log,
    sleepMaxSeconds: config.sleepMaxSeconds,
    bodyLimitBytes: config.bodyLimitBytes,
    idempotencyKeyTtlSeconds: config.idempotencyKeyTtlSeconds,
    accessLog: config.accessLog ? { worker: config.workerName, write: workerLog.write } : undefined,
  });

  const server: Server = await new Promise((resolve, reject) => {
    const s = app.listen(config.port, config.host, () => resolve(s));
    s.once('error', reject);
  });
  // First: it takes over the app's 'request' listener (one request per connection at a time).
  const requests = trackResponses(server);
  answerClientErrorsAsJson(server, requests);
  log({
    level: 'info',
    msg: 'listening',
    url: `http://${config.host}:${config.port}`,
    log: workerLog.path ?? 'stdout',
  });

  let stopping = false;
  let ready = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log({ level: 'info', msg: 'shutting down', signal });
    const exit = () => process.exit(ready ? 0 : STOPPED_BEFORE_READY);
    // Also when every client has gone: pool.end() waits for a statement still running for one that left.
    setTimeout(() => {
      log({ level: 'warn', msg: 'statements still running at the shutdown timeout; stopping them' });
      void pool.interrupt();
    }, config.shutdownTimeoutMs);
    setTimeout(exit, config.shutdownTimeoutMs + EXIT_BACKSTOP_MS);
    void drainHttpServer(server, requests, {
      idleGraceMs: Math.min(DRAIN_IDLE_GRACE_MS, config.shutdownTimeoutMs),
      timeoutMs: config.shutdownTimeoutMs + INTERRUPTED_ANSWER_MS,
      onTimeout: () => log({ level: 'warn', msg: 'in-flight requests did not finish in time; closing anyway' }),
    })
      .then(() => pool.end())
      .then(exit);
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
  // pm2 delivers its graceful-stop request as a 'shutdown' message on some platforms.
  process.on('message', (message) => {
    if (message === 'shutdown') stop('shutdown message');
    // After an in-place HAProxy reload the stack asks for a connection through the new HAProxy process
    // before the old one's hard-stop-after cuts this one (cluster/haproxy/reload.ts).
    if (isRetireRequest(message)) {
      const retired = pool.retireConnections();
      log({ level: 'info', msg: 'retiring database connections after an HAProxy reload', connections: retired });
    }
  });

  await waitForDatabase(db, latestMigration(), (attempt, error, delayMs) => {
    log({ level: 'warn', msg: 'database not ready yet; retrying', attempt, delayMs, error });
  });
  if (stopping) return;
  ready = true;
  log({ level: 'info', msg: 'ready' });
  process.send?.('ready');
}

main().catch((error: unknown) => {
  log({ level: 'fatal', msg: error instanceof Error ? error.message : String(error) });
  process.exit(1);
});

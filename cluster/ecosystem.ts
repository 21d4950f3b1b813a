// The pm2 app list, generated from the stack's apps (cluster/apps.ts, never written out per port): the
// embedded database (when no MYSQL_HOST is set), HAProxy in the foreground, one Koa worker per port,
// and, with MONITORING=1, Prometheus and mysqld-exporter. ecosystem.config.js and `npm start` both use it.
import path from 'node:path';
import type { StartOptions } from 'pm2';
import { appsOfKind, stackApps, workerAppName, type StackApp } from './apps';
import { haproxyArgs } from './haproxy/config-files';
import { workerListenHost } from './hosts/front-doors';
import { workerTlsEnv } from './hosts/tls';
import { monitoringApps } from './monitoring/apps';
import { PROJECT_ROOT, type StackSettings } from './settings';
import { systemBinary } from './system-packages';
import { STOPPED_BEFORE_READY } from '../server/startup/exit-codes';

export type AppDefinition = StartOptions & {
  name: string;
  env?: Record<string, string>;
  kill_signal?: string;
  out_file?: string;
  error_file?: string;
  stop_exit_codes?: number[];
  pmx?: boolean;
};

/** Worker settings passed through from pm2's environment when set (see README's configuration table). */
const WORKER_PASSTHROUGH = [
  'DB_POOL_SIZE',
  'DB_QUEUE_LIMIT',
  'DB_ACQUIRE_TIMEOUT_MS',
  'DB_CONNECT_TIMEOUT_MS',
  'DB_QUERY_TIMEOUT_MS',
  'DB_LOCK_WAIT_TIMEOUT_SECONDS',
  'SLEEP_MAX_SECONDS',
  'BODY_LIMIT_BYTES',
  'SHUTDOWN_TIMEOUT_MS',
  'ACCESS_LOG',
  'IDEMPOTENCY_KEY_TTL_SECONDS',
  'METRICS',
  'DB_READ_BATCHING',
  'DB_QUEUE_STATEMENT_LIMIT',
  'DB_READ_BATCH_MAX',
  'LOG_MAX_BYTES',
  'LOG_FILES',
];

export { workerAppName };

export function logPath(settings: StackSettings, name: string): string {
  return path.join(settings.stateDir, 'logs', `${name}.log`);
}

/**
 * What pm2 itself captured of a worker (its stdout and stderr: error lines copied there, a crash before
 * its log was open). The worker writes everything else to logPath() on its own (server/log/).
 */
export function pm2LogPath(settings: StackSettings, name: string): string {
  return path.join(settings.stateDir, 'logs', `${name}.pm2.log`);
}

function nodeApp(settings: StackSettings, name: string, script: string): AppDefinition {
  return {
    name,
    // A .js entry that loads the compiled code in dist/ (built before pm2 sees this list, never by pm2:
    // cluster/build/build.ts), so pm2 runs only JavaScript.
    script: path.join(PROJECT_ROOT, script),
    cwd: PROJECT_ROOT,
    interpreter: process.execPath,
    // Stack traces name the .ts sources (tsc writes a source map beside each .js).
    node_args: ['--enable-source-maps'],
    exec_mode: 'fork',
    autorestart: true,
    exp_backoff_restart_delay: 200,
    stop_exit_codes: [STOPPED_BEFORE_READY],
    merge_logs: true,
    out_file: logPath(settings, name),
    error_file: logPath(settings, name),
  };
}

function databaseApp(settings: StackSettings, name: string): AppDefinition {
  return {
    ...nodeApp(settings, name, 'cluster/database/pm2-entry.js'),
    // The wrapper says 'ready' after mariadbd answers and the migrations ran (first start initialises
    // the datadir, which takes a while).
    wait_ready: true,
    listen_timeout: 120_000,
    // mariadbd flushes InnoDB on SIGTERM; give it time before pm2 escalates to SIGKILL.
    kill_timeout: 60_000,
    env: { STACK_DIR: settings.stateDir, MYSQL_PORT: String(settings.database.port) },
  };
}

/** What the Galera entries read through loadStackSettings() (the rest comes from pm2's inherited env). */
function galeraEnv(settings: StackSettings, env: Record<string, string | undefined>): Record<string, string> {
  const keys = [
    'GALERA_NODES',
    'GALERA_CLIENT_PORT',
    'GALERA_GROUP_PORT',
    'GALERA_IST_PORT',
    'GALERA_SST_PORT',
    'GALERA_AGENT_PORT',
    'GALERA_CHECK_USER',
    'GALERA_SERVERS',
    'MYSQL_HOST',
  ];
  const out: Record<string, string> = { STACK_DIR: settings.stateDir, DB_TOPOLOGY: settings.database.topology };
  // '' for an unset key: pm2 merges a restart's env into the old one.
  for (const key of keys) out[key] = env[key] ?? '';
  // The path, not the value, when the password is in a file (the generated one): pm2 never holds it.
  if (settings.galera.checkPasswordFile !== undefined)
    out.GALERA_CHECK_PASSWORD_FILE = settings.galera.checkPasswordFile;
  return out;
}

/**
 * One app per local Galera node. pm2's stop signal (SIGINT) becomes mariadbd's SIGTERM in the runner,
 * a clean leave that saves the node's seqno (~6 s here); kill_timeout leaves it far more, since pm2's
 * default (1.6 s) would SIGKILL it and leave seqno -1. 'ready' once Synced (after SST, IST or recovery).
 */
function galeraNodeApp(
  settings: StackSettings,
  name: string,
  node: string,
  env: Record<string, string | undefined>,
): AppDefinition {
  return {
    ...nodeApp(settings, name, 'cluster/database/galera/pm2-entry.js'),
    args: [node],
    wait_ready: true,
    // Only how long `pm2 start` waits before moving on to the next app (the runner keeps waiting for
    // the others' recovery or an SST): short, so a bare `pm2 start ecosystem.config.js`, which starts
    // two apps at a time, does not stall on nodes that wait for a node not started yet.
    listen_timeout: 30_000,
    kill_timeout: 60_000,
    env: galeraEnv(settings, env),
  };
}

function galeraAgentApp(settings: StackSettings, name: string, env: Record<string, string | undefined>): AppDefinition {
  return {
    ...nodeApp(settings, name, 'cluster/database/galera/pm2-entry.js'),
    args: ['agent'],
    wait_ready: true,
    listen_timeout: 30_000,
    kill_timeout: 5_000,
    env: galeraEnv(settings, env),
  };
}

function haproxyApp(settings: StackSettings, name: string): AppDefinition {
  return {
    name,
    script: systemBinary('haproxy'),
    // Reads the files cluster/haproxy/config-files.ts renders (prepareStateDir writes them).
    args: haproxyArgs(settings),
    interpreter: 'none',
    exec_mode: 'fork',
    cwd: PROJECT_ROOT,
    autorestart: true,
    exp_backoff_restart_delay: 200,
    merge_logs: true,
    out_file: logPath(settings, name),
    error_file: logPath(settings, name),
  };
}

function workerApp(
  settings: StackSettings,
  name: string,
  port: number,
  env: Record<string, string | undefined>,
): AppDefinition {
  // Every key is passed, '' (the worker's default) when unset: pm2 merges a reload's env into the old
  // one, so a setting removed from the environment must be overwritten, not left out.
  const passthrough: Record<string, string> = {};
  for (const key of WORKER_PASSTHROUGH) passthrough[key] = env[key] ?? '';
  const shutdownMs = Number(env.SHUTDOWN_TIMEOUT_MS ?? 10_000);
  return {
    ...nodeApp(settings, name, 'cluster/worker/pm2-entry.js'),
    // A young generation of 3 x 4 MB and old space grown to 1.5x its live size keep a loaded worker under
    // 100 MB of RSS; GC on the main thread alone: one worker per core already, and helper threads that
    // wait for a core made each GC pause longer (bench/README.md, "Memory" and "The fixed cost").
    node_args: ['--enable-source-maps', '--max-semi-space-size=4', '--heap-growing-percent=50', '--single-threaded-gc'],
    // Cluster mode with one instance per port: pm2's daemon holds the listening socket, so `pm2 reload`
    // starts the new process, waits for its 'ready', and only then stops the old one (which drains).
    // In fork mode a reload is a stop and a start, and connections are refused in between.
    exec_mode: 'cluster',
    instances: 1,
    // 'ready' comes once the worker listens and its pool answered SELECT 1 (it retries until then).
    wait_ready: true,
    listen_timeout: 60_000,
    kill_timeout: shutdownMs + 2_000,
    // The worker writes and rotates logPath() itself, through a buffered writer: a line through pm2's
    // stdout hook is an IPC message to the daemon (its CPU and the worker's), and pm2 rotates nothing.
    out_file: pm2LogPath(settings, name),
    error_file: pm2LogPath(settings, name),
    // pm2's in-process APM (@pm2/io: wraps http.Server#emit to time every request, event-loop and GC
    // probes, IPC reports each second) adds CPU per request and memory; Prometheus covers all of it.
    pmx: false,
    env: {
      ...passthrough,
      LOG_DIR: path.dirname(logPath(settings, name)),
      PORT: String(port),
      // Over several hosts every address, so the other hosts' front doors reach it (front-doors.ts).
      WORKER_HOST: workerListenHost(settings),
      WORKER_NAME: name,
      HAPROXY_HOST: settings.haproxy.host,
      HAPROXY_PORT: String(settings.haproxy.port),
      DB_USER: settings.database.appUser,
      // The path of the 0600 file when the password is in one (the generated secret, or DB_PASSWORD_FILE),
      // so pm2, which stores an app's env and prints it (`pm2 env`, `pm2 jlist`), never holds the value;
      // the value only when it was given as DB_PASSWORD, which pm2 has from the caller's env anyway.
      // Both keys always: pm2 merges a reload's env into the old one.
      DB_PASSWORD: settings.database.appPasswordFile === undefined ? settings.database.appPassword : '',
      DB_PASSWORD_FILE: settings.database.appPasswordFile ?? '',
      // Over several hosts the writer may be on another host: always TLS, with the stack's CA (one
      // machine's env is as it always was).
      ...workerTlsEnv(settings),
    },
  };
}

/** The apps that hold the stack's data: the single MariaDB, or every local Galera node. */
export function databaseAppNames(settings: StackSettings): string[] {
  return appsOfKind(stackApps(settings), 'database', 'galera-node').map((app) => app.name);
}

/** The pm2 definition of each app of `apps` (all of the settings' by default), in the same order. */
export function buildApps(
  settings: StackSettings,
  env: Record<string, string | undefined> = process.env,
  apps: readonly StackApp[] = stackApps(settings),
): AppDefinition[] {
  const monitoring = settings.monitoring.enabled ? (monitoringApps(settings) as AppDefinition[]) : [];
  return apps.map((app): AppDefinition => {
    switch (app.kind) {
      case 'database':
        return databaseApp(settings, app.name);
      case 'galera-node':
        return galeraNodeApp(settings, app.name, app.node!, env);
      case 'galera-agent':
        return galeraAgentApp(settings, app.name, env);
      case 'haproxy':
        return haproxyApp(settings, app.name);
      // The workers' own settings were checked with the stack's, all at once, by loadStackSettings().
      case 'worker':
        return workerApp(settings, app.name, app.port!, env);
      case 'prometheus':
      case 'exporter':
        return monitoring.find((definition) => definition.name === app.name)!;
    }
  });
}

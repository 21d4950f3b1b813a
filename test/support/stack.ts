// A whole test stack of real processes: a throwaway mariadbd, HAProxy with the project's own config, the
// migrations, and N workers, every one on a free port. One shared instance serves most test files
// (root-hooks.ts stops it); tests that break things start their own.
import os from 'node:os';
import path from 'node:path';
import fs from 'node:fs';
import mysql from 'mysql2/promise';
import { migrate } from '../../cluster/database/migrate';
import { generatePassword } from '../../cluster/secrets';
import { loadStackSettings, type StackSettings } from '../../cluster/settings';
import { freePort } from '../../cluster/free-port';
import { startHaproxy, type HaproxyHandle } from './haproxy';
import { startMariaDb, type MariaDbHandle } from './mariadb';
import { startWorker, type WorkerHandle } from './worker';

export interface TestStack {
  settings: StackSettings;
  mariadb: MariaDbHandle;
  haproxy: HaproxyHandle;
  workers: WorkerHandle[];
  /** The environment a worker of this stack runs with (extra settings merged in). */
  workerEnv(port: number, extra?: Record<string, string>): Record<string, string>;
  addWorker(extra?: Record<string, string>, until?: 'ready' | 'listening'): Promise<WorkerHandle>;
  /** A fresh admin connection to MariaDB (direct, not through HAProxy). */
  admin(): Promise<mysql.Connection>;
  stop(): Promise<void>;
}

export interface TestStackOptions {
  workers?: number;
  /** Extra environment for every worker (e.g. DB_ACQUIRE_TIMEOUT_MS). */
  workerEnv?: Record<string, string>;
  /** Extra stack settings (e.g. HAPROXY_SERVER_MAXCONN), as environment variables. */
  stackEnv?: Record<string, string>;
}

export async function startTestStack(options: TestStackOptions = {}): Promise<TestStack> {
  const mariadb = await startMariaDb();
  const workerPorts: number[] = [];
  for (let i = 0; i < (options.workers ?? 2); i += 1) workerPorts.push(await freePort());
  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kh-stack-'));
  const settings = loadStackSettings({
    MYSQL_HOST: '127.0.0.1',
    MYSQL_PORT: String(mariadb.port),
    HAPROXY_PORT: String(await freePort()),
    HAPROXY_STATS_PORT: String(await freePort()),
    HTTP_PORT: String(await freePort()),
    // Settings need at least one worker port; a stack started with none adds its workers later.
    WORKER_PORTS: workerPorts.length > 0 ? workerPorts.join(',') : String(await freePort()),
    STACK_DIR: stateDir,
    STACK_NAME: 'test',
    // An external server, as far as the settings know, so its passwords must be given.
    DB_PASSWORD: generatePassword(),
    DB_EXPORTER_PASSWORD: generatePassword(),
    ...options.stackEnv,
  });
  await migrate(settings, mariadb.admin);
  const haproxy = await startHaproxy(settings);

  const workerEnv = (port: number, extra: Record<string, string> = {}): Record<string, string> => ({
    PORT: String(port),
    WORKER_NAME: `test-worker-${port}`,
    HAPROXY_HOST: settings.haproxy.host,
    HAPROXY_PORT: String(settings.haproxy.port),
    DB_USER: settings.database.appUser,
    DB_PASSWORD: settings.database.appPassword,
    ...options.workerEnv,
    ...extra,
  });
  const workers = await Promise.all(workerPorts.map((port) => startWorker(workerEnv(port))));
  const extraWorkers: WorkerHandle[] = [];

  return {
    settings,
    mariadb,
    haproxy,
    workers,
    workerEnv,
    async addWorker(extra = {}, until = 'ready') {
      const worker = await startWorker(workerEnv(await freePort(), extra), 20_000, until);
      extraWorkers.push(worker);
      return worker;
    },
    admin: () => mysql.createConnection({ ...mariadb.admin, database: 'test' }),
    async stop() {
      await Promise.all([...workers, ...extraWorkers].map((w) => w.stop()));
      await haproxy.stop();
      await mariadb.stop();
      fs.rmSync(stateDir, { recursive: true, force: true });
    },
  };
}

let shared: Promise<TestStack> | undefined;

/** The stack most test files share: started on first use, stopped once after all tests. */
export function sharedStack(): Promise<TestStack> {
  shared ??= startTestStack();
  return shared;
}

export async function stopSharedStack(): Promise<void> {
  if (!shared) return;
  const stack = await shared.catch(() => undefined);
  shared = undefined;
  await stack?.stop();
}

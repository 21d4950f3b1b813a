// The embedded MariaDB: where its files live under the state folder, how its datadir is created,
// the exact mariadbd command line, and how to tell it is up. Used by cluster/database/server.ts (under
// pm2) and by test/support/mariadb.ts, so tests run the same server the stack runs.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import mysql from 'mysql2/promise';
import { systemBinary } from '../system-packages';
import { embeddedAdminUser } from './admin-account';

/**
 * Seconds an idle client connection may stay open before MariaDB closes it. Deliberately longer than
 * HAProxy's `timeout client` / `timeout server` (300s in haproxy/haproxy.cfg): one place decides when
 * an idle pooled connection dies, the proxy, which closes both sides together and logs why. This
 * limit is only a backstop for connections that bypass HAProxy (the exporter, migrations).
 */
export const WAIT_TIMEOUT_SECONDS = 600;

// Small enough for a laptop and for one server per test file: the todo table fits many times over.
// The log file size is given to mariadb-install-db too, so the first start does not resize it.
const INNODB_OPTIONS = ['--innodb-buffer-pool-size=32M', '--innodb-log-file-size=16M'];

function runningAsRoot(): boolean {
  return process.geteuid?.() === 0;
}

// Temporary tables go beside the datadir, not in the shared /tmp, where another server's (or a tmp
// cleaner's) activity once made mariadb-install-db abort deleting its own temp file.
function privateTmpdir(datadir: string): string {
  return `--tmpdir=${path.dirname(datadir)}`;
}

export interface EmbeddedPaths {
  /** `<stateDir>/mariadb`: everything the embedded server owns. */
  dir: string;
  datadir: string;
  socket: string;
  pidFile: string;
}

export function embeddedPaths(stateDir: string): EmbeddedPaths {
  const dir = path.join(stateDir, 'mariadb');
  return {
    dir,
    datadir: path.join(dir, 'data'),
    socket: path.join(dir, 'mysqld.sock'),
    pidFile: path.join(dir, 'mysqld.pid'),
  };
}

/**
 * Environment for mariadbd (and mariadb-install-db's bootstrap): it sets its own umask for the files it
 * creates (0660 unless UMASK says otherwise) and for folders (UMASK_DIR), so the process umask alone
 * would leave tables group-readable.
 */
export const MARIADBD_PRIVATE_FILES_ENV = { UMASK: '0600', UMASK_DIR: '0700' };

export function installDbArgs(datadir: string): string[] {
  return [
    '--no-defaults', // mariadb-install-db requires it first; no /etc/mysql config leaks in
    // The admin is the OS user running the stack, via unix_socket only (see admin-account.ts, which also
    // drops what this creates beside it: root@localhost when the admin is another user).
    '--auth-root-authentication-method=socket',
    `--auth-root-socket-user=${embeddedAdminUser()}`,
    `--datadir=${datadir}`,
    '--skip-test-db',
    '--skip-name-resolve',
    privateTmpdir(datadir),
    ...(runningAsRoot() ? ['--user=root'] : []), // otherwise it would chown the files to a `mysql` user
    ...INNODB_OPTIONS,
  ];
}

/**
 * Creates a datadir unless `<datadir>/mysql` exists; returns whether it did. Installs into a sibling
 * folder and renames it into place, so a crash half-way never leaves a datadir that looks initialised.
 */
export async function initDatadir(datadir: string): Promise<boolean> {
  if (existsSync(path.join(datadir, 'mysql'))) return false;
  const staging = `${datadir}.init-${process.pid}`;
  await rm(staging, { recursive: true, force: true });
  await mkdir(path.dirname(datadir), { recursive: true });
  try {
    await promisify(execFile)(systemBinary('mariadb-install-db'), installDbArgs(staging), {
      env: { ...process.env, ...MARIADBD_PRIVATE_FILES_ENV },
    });
  } catch (err) {
    await rm(staging, { recursive: true, force: true });
    const output = (err as { stderr?: string; stdout?: string }).stderr || (err as { stdout?: string }).stdout || '';
    throw new Error(`mariadb-install-db could not create ${datadir}: ${(err as Error).message}\n${output}`, {
      cause: err,
    });
  }
  await rm(datadir, { recursive: true, force: true }); // only an empty or half-made folder can be here
  await rename(staging, datadir);
  return true;
}

export interface MariadbdOptions {
  datadir: string;
  port: number;
  socket: string;
  pidFile: string;
  /** Without it the error log goes to stderr, which pm2 collects. */
  logFile?: string;
}

/** Full argv (after the binary) for a foreground mariadbd on 127.0.0.1 that reads no config files. */
export function mariadbdArgs(opts: MariadbdOptions): string[] {
  return [
    '--no-defaults', // must come first
    `--datadir=${opts.datadir}`,
    `--port=${opts.port}`,
    '--bind-address=127.0.0.1',
    `--socket=${opts.socket}`,
    `--pid-file=${opts.pidFile}`,
    ...(opts.logFile ? [`--log-error=${opts.logFile}`] : []),
    ...(runningAsRoot() ? ['--user=root'] : []), // mariadbd refuses to run as root without it
    '--skip-name-resolve', // accounts match by IP; no DNS lookup per connection
    privateTmpdir(opts.datadir),
    ...INNODB_OPTIONS,
    // Off: it costs ~100 MB of RSS here, and mysqld_exporter's default collectors do not read it.
    '--performance-schema=OFF',
    // HAProxy's server maxconn (10) + admin, migrations, exporter (3), db:shell, with room to spare.
    '--max-connections=60',
    `--wait-timeout=${WAIT_TIMEOUT_SECONDS}`,
    '--character-set-server=utf8mb4',
    '--collation-server=utf8mb4_unicode_520_ci',
  ];
}

/**
 * Polls until a connection with these options (or, given a list, with the first of them that logs in)
 * answers `SELECT 1`, and returns the options that did; rejects after timeoutMs or on abort.
 */
export async function waitForMariaDb(
  logins: mysql.ConnectionOptions | mysql.ConnectionOptions[],
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<mysql.ConnectionOptions> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    for (const opts of Array.isArray(logins) ? logins : [logins]) {
      signal?.throwIfAborted();
      try {
        const connection = await mysql.createConnection({ ...opts, connectTimeout: 1000 });
        try {
          await connection.query('SELECT 1');
          return opts;
        } finally {
          await connection.end();
        }
      } catch (err) {
        lastError = err;
      }
    }
    await sleep(100);
  }
  const reason = lastError instanceof Error ? lastError.message : String(lastError);
  throw new Error(`MariaDB did not answer SELECT 1 within ${timeoutMs} ms (last error: ${reason}).`);
}

// A zombie (exited, not yet reaped by whoever adopted it) has let go of its port and files.
async function alive(pid: number): Promise<boolean> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
  return stat !== '' && stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
}

/**
 * Stops a mariadbd left running on this datadir (its wrapper was SIGKILLed, so it never got a
 * SIGTERM): it would hold the port and the InnoDB lock and make every restart fail.
 */
export async function stopStaleServer(paths: EmbeddedPaths, timeoutMs = 60_000): Promise<boolean> {
  const pid = Number((await readFile(paths.pidFile, 'utf8').catch(() => '')).trim());
  if (!Number.isInteger(pid) || pid <= 0) return false;
  const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
  if (!cmdline.includes('mariadbd') || !cmdline.includes(`--datadir=${paths.datadir}`)) return false;
  process.kill(pid, 'SIGTERM');
  const deadline = Date.now() + timeoutMs;
  while (await alive(pid)) {
    if (Date.now() > deadline) throw new Error(`The stale mariadbd (pid ${pid}) did not stop within ${timeoutMs} ms.`);
    await sleep(100);
  }
  return true;
}

// A real, throwaway mariadbd for a test file: its own datadir in os.tmpdir(), its own free port,
// started with the same argv the stack uses (cluster/database/embedded.ts). One per file, in before/after.
import { spawn, type ChildProcess } from 'node:child_process';
import { cp, mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type mysql from 'mysql2/promise';
import { embeddedAdminUser } from '../../cluster/database/admin-account';
import { initDatadir, mariadbdArgs, waitForMariaDb } from '../../cluster/database/embedded';
import { systemBinary } from '../../cluster/system-packages';
import { freePort } from '../../cluster/free-port';
import { exited, forgetFolder, killOnExit, removeOnExit } from './processes';

export interface MariaDbHandle {
  port: number;
  socket: string;
  datadir: string;
  /** The OS user over the socket (unix_socket), as adminConnectionOptions() gives for the embedded server. */
  admin: mysql.ConnectionOptions;
  /** SIGTERM, wait for the exit, remove the datadir. */
  stop(): Promise<void>;
  /** SIGKILL, as a crash would; the datadir stays for restart(). */
  kill(): void;
  /** Starts again on the same datadir and port (after kill() or a stop of the process only). */
  restart(): Promise<void>;
}

const START_TIMEOUT_MS = 20_000;

// mariadb-install-db takes ~2s; copying a datadir made once per test process takes a few ms.
let template: Promise<string> | undefined;

function templateDatadir(): Promise<string> {
  template ??= (async () => {
    const folder = await mkdtemp(path.join(os.tmpdir(), 'kh-mariadb-template-'));
    removeOnExit(folder);
    const datadir = path.join(folder, 'data');
    await initDatadir(datadir);
    return datadir;
  })();
  return template;
}

export async function startMariaDb(): Promise<MariaDbHandle> {
  const folder = await mkdtemp(path.join(os.tmpdir(), 'kh-mariadb-'));
  removeOnExit(folder);
  const datadir = path.join(folder, 'data');
  await cp(await templateDatadir(), datadir, { recursive: true });
  const port = await freePort();
  const socket = path.join(folder, 'mysqld.sock');
  const logFile = path.join(folder, 'mysqld.log');
  const args = mariadbdArgs({ datadir, port, socket, pidFile: path.join(folder, 'mysqld.pid'), logFile });
  const admin: mysql.ConnectionOptions = { socketPath: socket, user: embeddedAdminUser(), password: '' };
  let child: ChildProcess | undefined;

  async function start(): Promise<void> {
    const current = spawn(systemBinary('mariadbd'), args, { stdio: 'ignore' });
    child = current;
    killOnExit(current);
    const died = new AbortController();
    current.once('exit', (code, signal) => died.abort(new Error(`mariadbd exited (${signal ?? `code ${code}`}).`)));
    try {
      await waitForMariaDb(admin, START_TIMEOUT_MS, died.signal);
    } catch (err) {
      current.kill('SIGKILL');
      const log = await readFile(logFile, 'utf8').catch(() => '');
      throw new Error(
        `${(err as Error).message}\nLast lines of ${logFile}:\n${log.split('\n').slice(-15).join('\n')}`,
        {
          cause: err,
        },
      );
    }
  }

  async function stopProcess(): Promise<void> {
    if (!child) return;
    const current = child;
    child = undefined;
    current.kill('SIGTERM');
    await exited(current);
  }

  await start();
  return {
    port,
    socket,
    datadir,
    admin,
    async stop() {
      await stopProcess();
      await rm(folder, { recursive: true, force: true });
      forgetFolder(folder);
    },
    kill() {
      child?.kill('SIGKILL');
    },
    async restart() {
      await stopProcess(); // after kill() this only waits for the killed process to be gone
      await start();
    },
  };
}

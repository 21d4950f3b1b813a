// Reloading a running HAProxy in place: SIGUSR2 to the master (master-worker mode) re-reads the
// rendered files and haproxy.cfg and hands the listening sockets to a new worker process, so no
// connection is refused; the old process finishes its sessions (at most hard-stop-after).
//
// The MySQL listener is TCP: the old process keeps every worker's pooled connection, which never ends
// on its own, until hard-stop-after cuts it, mid-statement if it comes to that (a write then answers
// 504 outcome_unknown). So after a reload the stack waits until the old process has given up the
// listening sockets (a connection opened from then on reaches the new one) and asks every worker to
// retire its pooled connection once it is free (DbPool.retireConnections): long before the hard stop,
// each has a fresh connection through the new process, and none was cut under a statement.
import fs from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import type Pm2 from 'pm2';
import { appsOfKind, stackApps } from '../apps';
import { haproxyPaths } from './config-files';
import type { StackSettings } from '../settings';
import { RETIRE_CONNECTIONS_TOPIC } from '../../server/db/retire-request';

/**
 * Set by the stack's own commands for the `pm2 reload` they run after reloading HAProxy themselves
 * (reloadHaproxyInPlace): the ecosystem file, loaded for that reload, then does not reload it again
 * (a second reload would leave the connections just moved on a process about to be stopped).
 */
export const HAPROXY_RELOADED_ENV = 'STACK_HAPROXY_RELOADED';

/** How long the new HAProxy process gets to take over the listening sockets. */
const TAKEOVER_TIMEOUT_MS = 8_000;

/** The master's pid when it is alive and is this stack's HAProxy (its argv names our pid file). */
export function runningHaproxyMaster(settings: StackSettings): number | undefined {
  const { pid: pidFile } = haproxyPaths(settings);
  let pid: number;
  try {
    pid = Number(fs.readFileSync(pidFile, 'utf8').split('\n')[0]);
    const cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    // A stale pid file may name a pid reused by another process: check it is our haproxy.
    if (!cmdline.some((arg) => arg.endsWith('haproxy')) || !cmdline.includes(pidFile)) return undefined;
  } catch {
    return undefined;
  }
  return pid;
}

/**
 * Sends the reload signal; false when this stack's HAProxy is not running. Used as is by the ecosystem
 * file for a bare `pm2 reload ecosystem.config.js` (which replaces every worker, and so every pooled
 * connection, anyway); skipped when the stack's command reloaded HAProxy just before.
 */
export function reloadHaproxy(settings: StackSettings): boolean {
  if (process.env[HAPROXY_RELOADED_ENV] === '1') return false;
  const pid = runningHaproxyMaster(settings);
  if (pid === undefined) return false;
  process.kill(pid, 'SIGUSR2');
  return true;
}

function children(pid: number): number[] {
  try {
    return fs.readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/** Inodes of the machine's listening TCP sockets (state 0A in /proc/net/tcp and tcp6). */
function listeningInodes(): Set<string> {
  const inodes = new Set<string>();
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = fs.readFileSync(table, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/);
      if (fields[3] === '0A' && fields[9]) inodes.add(fields[9]);
    }
  }
  return inodes;
}

/** Whether process `pid` holds one of the listening sockets `listening`. */
function holdsListener(pid: number, listening: Set<string>): boolean {
  let fds: string[];
  try {
    fds = fs.readdirSync(`/proc/${pid}/fd`);
  } catch {
    return false; // exited
  }
  return fds.some((fd) => {
    try {
      const target = fs.readlinkSync(`/proc/${pid}/fd/${fd}`);
      return target.startsWith('socket:[') && listening.has(target.slice(8, -1));
    } catch {
      return false;
    }
  });
}

/**
 * SIGUSR2 to the master, then waits until a new worker process of it listens and no former one does:
 * from then on every new connection reaches the new process. False when HAProxy is not running; throws
 * when the new process did not take over (a refused config leaves the old one running).
 */
async function reloadAndAwaitTakeover(settings: StackSettings): Promise<boolean> {
  const master = runningHaproxyMaster(settings);
  if (master === undefined) return false;
  const former = new Set(children(master));
  process.kill(master, 'SIGUSR2');
  const deadline = Date.now() + TAKEOVER_TIMEOUT_MS;
  for (;;) {
    const listening = listeningInodes();
    const current = children(master);
    const taken =
      current.some((pid) => !former.has(pid) && holdsListener(pid, listening)) &&
      !current.some((pid) => former.has(pid) && holdsListener(pid, listening));
    if (taken) return true;
    if (Date.now() > deadline) {
      throw new Error(
        `HAProxy did not start a new process within ${TAKEOVER_TIMEOUT_MS / 1000}s of its reload; see its log.`,
      );
    }
    await sleep(20);
  }
}

function pm2Call<T>(call: (done: (error: Error | null, value?: T) => void) => void): Promise<T> {
  return new Promise((resolve, reject) => call((error, value) => (error ? reject(error) : resolve(value as T))));
}

/**
 * Asks every online worker of the stack to retire its pooled database connections (pm2 IPC: the
 * worker's process.on('message')). Returns the names of the workers asked.
 */
export async function retireWorkerConnections(settings: StackSettings): Promise<string[]> {
  // Loaded here, not at the top: the ecosystem file imports this module inside pm2's own CLI.
  const pm2 = (await import('pm2')).default as typeof Pm2;
  await pm2Call<void>((done) => pm2.connect((error) => done(error)));
  try {
    const processes = await pm2Call<Pm2.ProcessDescription[]>((done) => pm2.list((error, list) => done(error, list)));
    const names = new Set(appsOfKind(stackApps(settings), 'worker').map((app) => app.name));
    const workers = processes.filter(
      (proc) =>
        proc.name !== undefined &&
        names.has(proc.name) &&
        proc.pm2_env?.status === 'online' &&
        proc.pm_id !== undefined,
    );
    for (const proc of workers) {
      const id = proc.pm_id!;
      await pm2Call<unknown>((done) =>
        pm2.sendDataToProcessId(
          id,
          { id, type: 'process:msg', topic: RETIRE_CONNECTIONS_TOPIC, data: {} },
          (error, result) => done(error, result),
        ),
      );
    }
    return workers.map((proc) => proc.name!);
  } finally {
    pm2.disconnect();
  }
}

/**
 * The stack's in-place HAProxy reload: reloads, waits for the new process to take the listening
 * sockets, then has the workers move their pooled connections to it. False when HAProxy is not running.
 */
export async function reloadHaproxyInPlace(settings: StackSettings): Promise<boolean> {
  if (!(await reloadAndAwaitTakeover(settings))) return false;
  try {
    await retireWorkerConnections(settings);
  } catch (error) {
    // The reload itself succeeded: say what is left undone rather than fail the command.
    console.warn(
      `HAProxy reloaded, but the workers could not be asked to move their database connections (${error instanceof Error ? error.message : String(error)}); the old HAProxy process cuts them at its hard-stop-after.`,
    );
  }
  return true;
}

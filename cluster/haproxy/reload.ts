// Reloading a running HAProxy in place: SIGUSR2 to the master (master-worker mode) re-reads the
// rendered files and haproxy.cfg and hands the listening sockets to a new worker process, so no
// connection is refused; the old process finishes its sessions (at most hard-stop-after).
import fs from 'node:fs';
import { haproxyPaths } from './config-files';
import type { StackSettings } from '../settings';

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

/** Sends the reload signal; false when this stack's HAProxy is not running. */
export function reloadHaproxy(settings: StackSettings): boolean {
  const pid = runningHaproxyMaster(settings);
  if (pid === undefined) return false;
  process.kill(pid, 'SIGUSR2');
  return true;
}

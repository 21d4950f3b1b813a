// Children and temp folders the test support created, cleaned up even when the test run crashes:
// a leftover mariadbd would hold its port and datadir lock and break the next run.
import type { ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';

const children = new Set<ChildProcess>();
const folders = new Set<string>();

/** SIGKILLs the child when this process exits, unless it has exited by then. */
export function killOnExit(child: ChildProcess): void {
  children.add(child);
  child.once('exit', () => children.delete(child));
}

/** Removes the folder when this process exits, unless forgetFolder() was called. */
export function removeOnExit(folder: string): void {
  folders.add(folder);
}

export function forgetFolder(folder: string): void {
  folders.delete(folder);
}

/** Resolves once the child has exited (at once if it already has). */
export function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

function cleanUp(): void {
  for (const child of children) child.kill('SIGKILL');
  children.clear();
  for (const folder of folders) rmSync(folder, { recursive: true, force: true });
  folders.clear();
}

// 'exit' covers normal ends, process.exit() and uncaught errors. A signal (Ctrl-C, a CI timeout's
// SIGTERM) ends Node without 'exit', so clean up and then die of the same signal as before.
process.on('exit', cleanUp);
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.once(signal, () => {
    cleanUp();
    process.kill(process.pid, signal);
  });
}

// Ending the processes of lab namespaces. A namespace outlives `ip netns del` while a process holds it,
// and such a process can no longer be found by the namespace's name: so processes always go first.
import { namespacePids } from './ip';

const pause = new Int32Array(new SharedArrayBuffer(4));

export function sleepSync(ms: number): void {
  Atomics.wait(pause, 0, 0, ms);
}

function signal(pids: number[], sig: NodeJS.Signals): void {
  for (const pid of pids) {
    try {
      process.kill(pid, sig);
    } catch {
      // Gone already.
    }
  }
}

/** Polls until no process is left in `names`, for at most `ms`; returns what is left. */
function waitEmpty(names: string[], ms: number): number[] {
  const deadline = Date.now() + ms;
  for (;;) {
    const left = names.flatMap(namespacePids);
    if (left.length === 0 || Date.now() >= deadline) return left;
    sleepSync(50);
  }
}

/**
 * Ends every process in the namespaces `names` and returns the pids found: with `graceMs` > 0 SIGTERM
 * first and SIGKILL for what is left after it; with 0, SIGKILL at once (a host losing power). SIGKILL
 * again for anything started meanwhile (a supervisor respawning). Throws if a process survives
 * SIGKILL (uninterruptible sleep), naming it, rather than leave it behind silently.
 */
export function endNamespaceProcesses(names: string[], graceMs: number): number[] {
  const found = names.flatMap(namespacePids);
  if (found.length === 0) return found;
  let left = found;
  if (graceMs > 0) {
    signal(left, 'SIGTERM');
    left = waitEmpty(names, graceMs);
  }
  for (let round = 0; left.length > 0 && round < 5; round++) {
    signal(left, 'SIGKILL');
    left = waitEmpty(names, 2000);
  }
  if (left.length > 0) {
    throw new Error(`Processes ${left.join(', ')} in ${names.join(', ')} survived SIGKILL.`);
  }
  return found;
}

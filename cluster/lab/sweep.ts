// Removes every trace of a lab by its prefix alone, whatever state a crash left it in: the processes
// still running in its namespaces (a namespace outlives `ip netns del` while a process holds it, so they
// go first), the namespaces (which take their bridge and veth ends with them), and any link left in the
// root namespace. Safe to run when nothing is there; `Lab.up` runs it first.
import { existsSync, rmSync } from 'node:fs';
import { ip, links, namespaces } from './ip';
import { belongsToLab } from './names';
import { endNamespaceProcesses, sleepSync } from './processes';

export interface SweepReport {
  namespaces: string[];
  links: string[];
  /** The pids that were still running in the lab's namespaces. */
  killed: number[];
}

/**
 * Ends every process in the lab's namespaces (SIGTERM, then SIGKILL after `graceMs`), deletes the
 * namespaces and the lab's root-namespace links. Throws, leaving the lab in place, if a process
 * survives SIGKILL.
 */
export function sweepLab(prefix: string, graceMs = 2000): SweepReport {
  const names = namespaces().filter((name) => belongsToLab(prefix, name));
  const killed = endNamespaceProcesses(names, graceMs);
  for (const name of names) {
    ip(['netns', 'del', name]);
    // Per-namespace /etc files (resolv.conf, hosts), if a lab ever wrote them.
    const etc = `/etc/netns/${name}`;
    if (existsSync(etc)) rmSync(etc, { recursive: true, force: true });
  }
  // A deleted namespace takes its veth ends with it, and their root-namespace peers too, but the kernel
  // does that a moment later: delete what is still there and wait until it is gone.
  const stale = rootLinks(prefix);
  const deadline = Date.now() + 5000;
  for (let left = stale; left.length > 0; left = rootLinks(prefix)) {
    if (Date.now() >= deadline) throw new Error(`The lab's links ${left.join(', ')} would not go away.`);
    for (const name of left) {
      try {
        ip(['link', 'del', name]);
      } catch {
        // Gone meanwhile with its namespace; the next listing tells.
      }
    }
    sleepSync(50);
  }
  return { namespaces: names, links: stale, killed };
}

function rootLinks(prefix: string): string[] {
  return links()
    .map((link) => link.ifname)
    .filter((name) => belongsToLab(prefix, name));
}

// What a process costs, from /proc (Linux only): CPU time (utime + stime of /proc/<pid>/stat, in seconds)
// and resident memory (VmRSS of /proc/<pid>/status), sampled for a peak.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';

let ticksPerSecond: number | undefined;

function clockTicks(): number {
  if (ticksPerSecond === undefined) {
    try {
      ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      ticksPerSecond = 100;
    }
  }
  return ticksPerSecond;
}

/** The fields after "pid (comm)": comm may hold spaces and parentheses, so split after the last ')'. */
function statFields(pid: number): string[] | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}

/** utime + stime of one process in seconds; NaN when it is gone. */
export function cpuSeconds(pid: number): number {
  const fields = statFields(pid);
  // After comm: [0] state, [1] ppid, ... [11] utime, [12] stime (fields 14 and 15 of proc(5)).
  if (!fields) return NaN;
  return (Number(fields[11]) + Number(fields[12])) / clockTicks();
}

/** Sum of cpuSeconds over several processes. */
export function totalCpuSeconds(pids: number[]): number {
  return pids.reduce((sum, pid) => sum + cpuSeconds(pid), 0);
}

/** Direct children of a process (e.g. HAProxy's worker under its master-worker parent). */
export function childPids(parent: number): number[] {
  const children: number[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const fields = statFields(Number(entry));
    if (fields && Number(fields[1]) === parent) children.push(Number(entry));
  }
  return children;
}

/** Resident memory of a process in MB; NaN when it is gone. */
export function rssMb(pid: number): number {
  try {
    const match = /^VmRSS:\s+(\d+) kB$/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) / 1024 : NaN;
  } catch {
    return NaN;
  }
}

/** Samples the RSS of each of `pids` every 200 ms until the returned stop() is called; stop() gives each one's peak. */
export function rssSampler(pids: number[]): () => number[] {
  const peaks = pids.map(rssMb);
  const sample = () => pids.forEach((pid, i) => (peaks[i] = Math.max(peaks[i]!, rssMb(pid))));
  const timer = setInterval(sample, 200);
  return () => {
    clearInterval(timer);
    sample();
    return peaks;
  };
}

/** How the scheduler treated a process's main thread (where its JavaScript runs), so far. */
export interface MainThreadSched {
  /** Seconds it was runnable but waiting for a CPU (the second field of /proc/<pid>/schedstat). */
  runQueueSeconds: number;
  /** Times it was taken off a CPU while still runnable (nonvoluntary_ctxt_switches): preempted. */
  preemptions: number;
}

/** The main thread's scheduling counters; NaN when the process is gone. */
export function mainThreadSched(pid: number): MainThreadSched {
  try {
    const waitNs = Number(fs.readFileSync(`/proc/${pid}/schedstat`, 'utf8').split(' ')[1]);
    const match = /^nonvoluntary_ctxt_switches:\s+(\d+)$/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return { runQueueSeconds: waitNs / 1e9, preemptions: match ? Number(match[1]) : NaN };
  } catch {
    return { runQueueSeconds: NaN, preemptions: NaN };
  }
}

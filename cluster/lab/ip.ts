// Runs iproute2's `ip`, synchronously: each call takes milliseconds, and a synchronous sweep can also
// run from a process 'exit' handler, where nothing asynchronous would finish.
import { execFileSync } from 'node:child_process';
import type { IpCommand } from './commands';

export const IP = 'ip';

/** Runs `ip <args>` and returns its stdout; throws with the command and ip's own message on failure. */
export function ip(args: IpCommand): string {
  try {
    return execFileSync(IP, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 10_000 });
  } catch (error) {
    const err = error as NodeJS.ErrnoException & { stderr?: string };
    const reason = err.code === 'ENOENT' ? 'ip (iproute2) is not installed' : (err.stderr ?? '').trim() || err.message;
    throw new Error(`ip ${args.join(' ')} failed: ${reason}`, { cause: error });
  }
}

/** Parses `ip -j ...` output; iproute2 prints nothing at all (not "[]") for an empty list. */
export function ipJson<T>(args: IpCommand): T[] {
  const out = ip(['-j', ...args]).trim();
  return out === '' ? [] : (JSON.parse(out) as T[]);
}

export function namespaces(): string[] {
  return ipJson<{ name: string }>(['netns', 'list']).map((ns) => ns.name);
}

/** Pids of the processes whose network namespace is `netns` (`ip netns pids`). */
export function namespacePids(netns: string): number[] {
  return ip(['netns', 'pids', netns])
    .split('\n')
    .filter((line) => /^\d+$/.test(line.trim()))
    .map(Number);
}

export interface LinkInfo {
  ifname: string;
  operstate?: string;
  flags?: string[];
  link_type?: string;
  linkinfo?: { info_kind?: string };
}

/** The links of the root namespace, or of `netns` when given. */
export function links(netns?: string): LinkInfo[] {
  return ipJson<LinkInfo>([...(netns ? ['-n', netns] : []), '-d', 'link', 'show']);
}

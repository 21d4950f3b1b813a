// The hosts a multi-host stack runs on (issue 19): one JSON file named by STACK_HOSTS, the same file on
// every host, listing each host's name and address. Which host this process is on comes from STACK_HOST,
// else from the one listed address that is on a local interface. Pure: the file's text and the local
// addresses are passed in, so the caller decides where they come from (fs, os.networkInterfaces()).
import net from 'node:net';

export interface TopologyHost {
  /** n-th host: its Galera node is n<i>, its HAProxy's peer name is this name (`haproxy -L`). */
  name: string;
  /** The address the other hosts reach it at (Galera, MySQL, peers, workers). */
  address: string;
}

export interface Topology {
  hosts: TopologyHost[];
  /** Each host's HAProxy `peers` listener (the writer stick table's sync), on its address. */
  peersPort: number;
  /**
   * Each host's HAProxy status listener (cluster/hosts/status-listener.ts), on its address: what
   * `npm run status` on any host reads of that proxy (its writer, its view of the nodes).
   */
  statusPort: number;
  /** Workers per host, when the file says; otherwise WORKER_PORTS as on one machine. */
  workersPerHost?: number;
}

export interface ThisHostHints {
  /** STACK_HOST: the host's name in the file; wins over the addresses. */
  stackHost?: string;
  /** The addresses on this machine's interfaces (os.networkInterfaces()). */
  localAddresses: readonly string[];
}

export const DEFAULT_PEERS_PORT = 10000;
export const DEFAULT_STATUS_PORT = 10001;

const KEYS = new Set(['hosts', 'peersPort', 'statusPort', 'workersPerHost']);
const HOST_KEYS = new Set(['name', 'address']);
// A peer name and a pm2/app-name fragment: short, lower case, no spaces or dots.
const NAME = /^[a-z][a-z0-9-]{0,30}$/;

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function addressProblem(where: string, address: unknown): string | undefined {
  if (typeof address !== 'string' || net.isIP(address) === 0) {
    return `${where}.address must be an IPv4 or IPv6 address, got ${JSON.stringify(address)}.`;
  }
  if (/^127\./.test(address) || address === '::1' || address === '0.0.0.0' || address === '::') {
    return `${where}.address must be an address the other hosts can reach, not ${address}.`;
  }
  return undefined;
}

function wholeNumber(
  raw: Record<string, unknown>,
  key: string,
  min: number,
  max: number,
  problems: string[],
): number | undefined {
  const value = raw[key];
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    problems.push(`${key} must be a whole number from ${min} to ${max}, got ${JSON.stringify(value)}.`);
    return undefined;
  }
  return value;
}

/** The topology in `text` and every problem with it, as whole sentences (empty when usable). */
export function parseTopology(text: string): { topology?: Topology; problems: string[] } {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    return { problems: [`The file is not JSON (${(error as Error).message}).`] };
  }
  if (!isObject(raw)) return { problems: ['The file must hold a JSON object with a "hosts" list.'] };
  const problems: string[] = [];
  for (const key of Object.keys(raw)) {
    if (!KEYS.has(key)) problems.push(`Unknown key "${key}" (known: ${[...KEYS].join(', ')}).`);
  }
  const hosts: TopologyHost[] = [];
  if (!Array.isArray(raw.hosts)) {
    problems.push('"hosts" must be a list of { "name", "address" }.');
  } else {
    raw.hosts.forEach((entry: unknown, i) => {
      const where = `hosts[${i}]`;
      if (!isObject(entry)) {
        problems.push(`${where} must be an object with "name" and "address".`);
        return;
      }
      for (const key of Object.keys(entry)) {
        if (!HOST_KEYS.has(key)) problems.push(`${where} has an unknown key "${key}" (known: name, address).`);
      }
      const { name, address } = entry;
      if (typeof name !== 'string' || !NAME.test(name)) {
        problems.push(
          `${where}.name must be a lower-case letter and up to 30 more of a-z 0-9 -, got ${JSON.stringify(name)}.`,
        );
      }
      const bad = addressProblem(where, address);
      if (bad) problems.push(bad);
      if (typeof name === 'string' && typeof address === 'string') hosts.push({ name, address });
    });
    const count = raw.hosts.length;
    if (count < 3 || count % 2 === 0) {
      problems.push(`"hosts" must list an odd number of at least 3 hosts (one Galera node each), got ${count}.`);
    }
    for (const key of ['name', 'address'] as const) {
      const seen = new Set<string>();
      for (const host of hosts) {
        if (seen.has(host[key])) problems.push(`Two hosts have the ${key} ${host[key]}.`);
        seen.add(host[key]);
      }
    }
  }
  const peersPort = wholeNumber(raw, 'peersPort', 1, 65535, problems) ?? DEFAULT_PEERS_PORT;
  const statusPort = wholeNumber(raw, 'statusPort', 1, 65535, problems) ?? DEFAULT_STATUS_PORT;
  if (statusPort === peersPort) problems.push(`statusPort and peersPort must differ, both are ${peersPort}.`);
  const workersPerHost = wholeNumber(raw, 'workersPerHost', 1, 64, problems);
  if (problems.length > 0) return { problems };
  return {
    topology: { hosts, peersPort, statusPort, ...(workersPerHost === undefined ? {} : { workersPerHost }) },
    problems,
  };
}

/** Which host of the topology this is, or the problem saying why that cannot be told. */
export function findThisHost(topology: Topology, hints: ThisHostHints): { host?: TopologyHost; problem?: string } {
  const names = topology.hosts.map((h) => h.name).join(', ');
  if (hints.stackHost !== undefined && hints.stackHost !== '') {
    const host = topology.hosts.find((h) => h.name === hints.stackHost);
    return host ? { host } : { problem: `STACK_HOST must be one of the hosts (${names}), got "${hints.stackHost}".` };
  }
  const local = new Set(hints.localAddresses);
  const mine = topology.hosts.filter((h) => local.has(h.address));
  if (mine.length === 1) return { host: mine[0] };
  if (mine.length === 0) {
    return {
      problem: `No host's address is on this machine (its addresses: ${hints.localAddresses.join(', ') || 'none'}); set STACK_HOST to one of ${names}.`,
    };
  }
  return {
    problem: `Several hosts' addresses are on this machine (${mine.map((h) => `${h.name} ${h.address}`).join(', ')}); set STACK_HOST to say which one this is.`,
  };
}

export interface ResolvedTopology extends Topology {
  thisHost: TopologyHost;
}

/**
 * The topology from the text of the STACK_HOSTS file, with this host found; throws one Error listing
 * every problem at once, in the manner of cluster/settings.ts.
 */
export function resolveTopology(file: string, text: string, hints: ThisHostHints): ResolvedTopology {
  const { topology, problems } = parseTopology(text);
  if (topology) {
    const { host, problem } = findThisHost(topology, hints);
    if (host) return { ...topology, thisHost: host };
    problems.push(problem!);
  }
  throw new Error(`Invalid host topology (STACK_HOSTS=${file}):\n  - ${problems.join('\n  - ')}`);
}

/** The IPv4 and IPv6 addresses of os.networkInterfaces()'s answer, loopback included (it never matches). */
export function interfaceAddresses(interfaces: NodeJS.Dict<{ address: string }[]>): string[] {
  return Object.values(interfaces).flatMap((list) => (list ?? []).map((entry) => entry.address));
}

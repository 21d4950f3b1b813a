// Where each node of the local Galera cluster lives: its folder under the state dir and the five ports
// it owns. Every node runs on 127.0.0.1, so every port is distinct and set explicitly, the IST port
// above all: Galera's default (group port + 1) is the next node's group port when those are consecutive.
import path from 'node:path';
import { secretsDir } from '../../secrets';

export interface GaleraPorts {
  /** MySQL clients (HAProxy, the agent, migrations). */
  client: number;
  /** Group communication (gmcast.listen_addr): the other nodes connect here. */
  group: number;
  /** Incremental state transfer receiver (ist.recv_addr). */
  ist: number;
  /** Full state transfer receiver (wsrep_sst_receive_address: the rsync daemon of a joiner). */
  sst: number;
  /** The health agent's HTTP listener for this node (HAProxy's `check port`). */
  agent: number;
}

export interface GaleraNode {
  /** 1-based position in the cluster address; node 1 bootstraps a fresh cluster. */
  index: number;
  /** wsrep_node_name, the agent's path and HAProxy's server name: `n1`, `n2`, ... */
  name: string;
  /** `<stateDir>/galera/<name>`: everything this node owns. */
  dir: string;
  datadir: string;
  socket: string;
  pidFile: string;
  /** mariadbd's error log, which also carries the WSREP lines (SST/IST) read after the fact. */
  logFile: string;
  /** Written by the runner after `mariadbd --wsrep-recover`, removed once the node starts from it. */
  recoveredFile: string;
  /** mariadbd's --defaults-file: only the [sst] section, which the SST script reads (args.ts). */
  optionFile: string;
  /** This node's TLS key and certificate, signed by the cluster's CA (certificates.ts). */
  tls: { dir: string; cert: string; key: string };
  ports: GaleraPorts;
  /**
   * The address of the host this node runs on (a multi-host stack, STACK_HOSTS): its group, IST and SST
   * listeners and what the other nodes dial. Unset on one machine: 127.0.0.1 (nodeAddress).
   */
  address?: string;
}

/** `<stateDir>/secrets/galera`: the cluster's CA and, in one folder per node, each node's key and certificate. */
export interface GaleraTlsFiles {
  dir: string;
  ca: string;
  caKey: string;
}

export interface GaleraLayout {
  /** wsrep_cluster_name: `<STACK_NAME>-galera`, so two stacks on one machine never share a group. */
  clusterName: string;
  /** `<stateDir>/galera` */
  dir: string;
  tls: GaleraTlsFiles;
  nodes: GaleraNode[];
}

/** Defaults: Galera's own 4567/4568/4444 for node 1, then 10 apart per node; MySQL 3311+, agent 9201+. */
export const DEFAULT_BASE_PORTS: GaleraPorts = { client: 3311, group: 4567, ist: 4568, sst: 4444, agent: 9201 };

/** Stride between nodes for group, IST and SST ports (client and agent ports are consecutive). */
const TRANSFER_STRIDE = 10;

/** Ports of `count` nodes derived from base ports. */
export function portsFromBase(count: number, base: GaleraPorts = DEFAULT_BASE_PORTS): GaleraPorts[] {
  return Array.from({ length: count }, (_, i) => ({
    client: base.client + i,
    group: base.group + i * TRANSFER_STRIDE,
    ist: base.ist + i * TRANSFER_STRIDE,
    sst: base.sst + i * TRANSFER_STRIDE,
    agent: base.agent + i,
  }));
}

/** Ports of `count` nodes from a flat list of free ports (5 per node, in GaleraPorts' key order). */
export function portsFromList(count: number, free: readonly number[]): GaleraPorts[] {
  if (free.length < count * 5) throw new Error(`${count} Galera nodes need ${count * 5} ports, got ${free.length}.`);
  return Array.from({ length: count }, (_, i) => {
    const [client, group, ist, sst, agent] = free.slice(i * 5, i * 5 + 5) as [number, number, number, number, number];
    return { client, group, ist, sst, agent };
  });
}

/** Problems with a set of node ports: out of range or used twice. Empty when the ports are usable. */
export function portProblems(ports: readonly GaleraPorts[]): string[] {
  const problems: string[] = [];
  const owner = new Map<number, string>();
  ports.forEach((nodePorts, i) => {
    for (const [kind, port] of Object.entries(nodePorts) as [keyof GaleraPorts, number][]) {
      const what = `n${i + 1} ${kind} port`;
      if (!Number.isInteger(port) || port < 1 || port > 65535)
        problems.push(`${what} must be between 1 and 65535, got ${port}.`);
      const other = owner.get(port);
      if (other !== undefined) problems.push(`${what} ${port} is also the ${other}.`);
      else owner.set(port, what);
    }
  });
  return problems;
}

export interface LayoutOptions {
  stateDir: string;
  ports: readonly GaleraPorts[];
  /** STACK_NAME (`kh` by default): the cluster is `<stackName>-galera`. */
  stackName?: string;
  /** Node i's host address (a multi-host stack), one per node; unset, every node is on 127.0.0.1. */
  addresses?: readonly string[];
}

/** The wsrep_cluster_name of the stack named `stackName` (STACK_NAME). */
export function galeraClusterName(stackName = 'kh'): string {
  return `${stackName}-galera`;
}

export function galeraLayout(opts: LayoutOptions): GaleraLayout {
  if (opts.ports.length < 1) throw new Error('A Galera cluster needs at least one node.');
  const problems = portProblems(opts.ports);
  if (problems.length > 0) throw new Error(`Bad Galera ports: ${problems.join(' ')}`);
  if (opts.addresses !== undefined && opts.addresses.length !== opts.ports.length)
    throw new Error(`${opts.ports.length} Galera nodes need as many host addresses, got ${opts.addresses.length}.`);
  const dir = path.join(opts.stateDir, 'galera');
  const tlsDir = path.join(secretsDir(opts.stateDir), 'galera');
  const nodes = opts.ports.map((ports, i): GaleraNode => {
    const name = `n${i + 1}`;
    const nodeDir = path.join(dir, name);
    return {
      index: i + 1,
      name,
      dir: nodeDir,
      datadir: path.join(nodeDir, 'data'),
      socket: path.join(nodeDir, 'mysqld.sock'),
      pidFile: path.join(nodeDir, 'mysqld.pid'),
      logFile: path.join(nodeDir, 'mysqld.err'),
      recoveredFile: path.join(nodeDir, 'recovered-position'),
      optionFile: path.join(nodeDir, 'my.cnf'),
      tls: {
        dir: path.join(tlsDir, name),
        cert: path.join(tlsDir, name, 'cert.pem'),
        key: path.join(tlsDir, name, 'key.pem'),
      },
      ports: { ...ports },
      ...(opts.addresses === undefined ? {} : { address: opts.addresses[i] }),
    };
  });
  const tls = { dir: tlsDir, ca: path.join(tlsDir, 'ca.pem'), caKey: path.join(tlsDir, 'ca-key.pem') };
  return { clusterName: galeraClusterName(opts.stackName), dir, tls, nodes };
}

/** Where the other nodes reach `node`: its host's address, 127.0.0.1 on one machine. */
export function nodeAddress(node: GaleraNode): string {
  return node.address ?? '127.0.0.1';
}

/** `<address>:<port>`, an IPv6 address in brackets. */
export function nodeHostPort(node: GaleraNode, port: number): string {
  const address = nodeAddress(node);
  return `${address.includes(':') ? `[${address}]` : address}:${port}`;
}

/** `gcomm://127.0.0.1:<g1>,127.0.0.1:<g2>,...`: every node's group port, this node's included. */
export function clusterAddress(layout: GaleraLayout): string {
  return `gcomm://${layout.nodes.map((node) => nodeHostPort(node, node.ports.group)).join(',')}`;
}

export function nodeByName(layout: GaleraLayout, name: string): GaleraNode {
  const node = layout.nodes.find((n) => n.name === name);
  if (!node) throw new Error(`No Galera node named "${name}" (nodes: ${layout.nodes.map((n) => n.name).join(', ')}).`);
  return node;
}

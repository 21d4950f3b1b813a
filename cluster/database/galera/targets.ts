// What the health agent checks and HAProxy balances over, for either Galera topology: the stack's own
// nodes (DB_TOPOLOGY=galera, on 127.0.0.1) or an existing cluster's (GALERA_SERVERS). Node k's agent
// listener is GALERA_AGENT_PORT + k - 1 in both.
import type { StackSettings } from '../../settings';
import { galeraLayoutOf } from './env';

export interface GaleraTarget {
  /** HAProxy's server name and the agent's path: n1, n2, ... */
  name: string;
  host: string;
  /** MySQL clients' port. */
  port: number;
  /** The agent's listener for this node. */
  agentPort: number;
}

/** Every Galera node of the settings, in writer-preference order; empty for a single server. */
export function galeraTargets(settings: StackSettings): GaleraTarget[] {
  if (settings.database.topology === 'galera') {
    const here = settings.hosts?.thisHost.address;
    return galeraLayoutOf(settings).nodes.map((node) => ({
      name: node.name,
      // Over several hosts (STACK_HOSTS): this host's node over loopback, the others at their hosts.
      host: node.address === undefined || node.address === here ? '127.0.0.1' : node.address,
      port: node.ports.client,
      agentPort: node.ports.agent,
    }));
  }
  return settings.galera.servers.map((server, i) => ({
    name: `n${i + 1}`,
    host: server.host,
    port: server.port,
    agentPort: settings.galera.agentPort + i,
  }));
}

/** Whether a health agent runs: always for the local cluster; for external servers when it has a password. */
export function runsGaleraAgent(settings: StackSettings): boolean {
  return (
    settings.database.topology === 'galera' ||
    (settings.galera.servers.length > 0 && settings.galera.checkPassword !== '')
  );
}

/**
 * The nodes this host's health agent answers for: every target on one machine; over several hosts
 * (STACK_HOSTS) only this host's own node, whose agent the other hosts' proxies ask at its address.
 */
export function agentTargets(settings: StackSettings): GaleraTarget[] {
  const targets = galeraTargets(settings);
  if (!settings.hosts) return targets;
  const index = settings.hosts.hosts.findIndex((host) => host.name === settings.hosts!.thisHost.name);
  return targets.slice(index, index + 1);
}

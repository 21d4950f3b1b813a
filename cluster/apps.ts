// The stack's apps, built once from the settings: each one's pm2 name, what kind of app it is, the ports
// it listens on (with the setting that chose each), the URL status prints, when `npm stop` stops it and
// what `npm start` does when its settings change. Everything else (status, stop, the plan, reload, the
// port check, restart-db, the HAProxy and Prometheus renderings, the pm2 app list in ecosystem.ts) reads
// this list instead of working out from a name or an exec_mode what an app is.
import { galeraLayoutOf } from './database/galera/env';
import { nodeAddress } from './database/galera/layout';
import { agentTargets, runsGaleraAgent } from './database/galera/targets';
import type { StackSettings } from './settings';

export type AppKind = 'database' | 'galera-node' | 'galera-agent' | 'haproxy' | 'worker' | 'prometheus' | 'exporter';

/**
 * What `npm start` does to a running app whose settings changed: a rolling reload (a worker: pm2 cluster
 * mode starts the new process before the old one leaves), delete and start again, or only report it
 * (a database: restarting it is an outage, or a lost quorum, so only `npm run restart-db` does it).
 */
export type OnChange = 'rolling-reload' | 'replace' | 'report';

export interface PortClaim {
  app: string;
  setting: string;
  host: string;
  port: number;
}

/** StackApp.host of every app of a single-machine stack (no STACK_HOSTS). */
export const LOCAL_HOST = 'local';

export interface StackApp {
  name: string;
  kind: AppKind;
  /** The host it runs on: a STACK_HOSTS host's name, or LOCAL_HOST on one machine. */
  host: string;
  /**
   * Another host's app (everyHostApps, for status): run by that host's own pm2, never started, stopped
   * or port-checked here, so it claims no port.
   */
  remote?: true;
  ports: PortClaim[];
  /** What `npm run status` shows in its url column. */
  url: string;
  /**
   * `npm stop` stops the apps in rising order: workers and monitoring (0), then HAProxy and the health
   * agent (1), the single MariaDB (2), and the Galera nodes last of all, together (3).
   */
  stopOrder: number;
  onChange: OnChange;
  /** A worker's port. */
  port?: number;
  /** A local Galera node's name (`n1`, ...): its wsrep_node_name and HAProxy's server name for it. */
  node?: string;
}

/** `kh-` on one machine, `kh-h1-` on the host h1 of STACK_HOSTS: names stay unique across hosts. */
function hostPrefix(
  settings: Pick<StackSettings, 'appPrefix' | 'hosts'>,
  host = settings.hosts?.thisHost.name,
): string {
  return host === undefined ? `${settings.appPrefix}-` : `${settings.appPrefix}-${host}-`;
}

/**
 * The worker-name format: the pm2 app, HAProxy's front-door server and the `worker` metrics label
 * (`kh-worker-8000`; `kh-h1-worker-8000` on the host h1 of STACK_HOSTS).
 */
export function workerAppName(
  settings: Pick<StackSettings, 'appPrefix' | 'hosts'>,
  port: number,
  host?: string,
): string {
  return `${hostPrefix(settings, host)}worker-${port}`;
}

/** `kh-galera-n1`, ...: the pm2 app of a local Galera node. */
export function galeraNodeAppName(settings: Pick<StackSettings, 'appPrefix'>, node: string): string {
  return `${settings.appPrefix}-galera-${node}`;
}

/**
 * Whether a pm2 app belongs to this stack (its STACK_NAME prefix), including one the current settings
 * no longer list (a removed worker port, monitoring turned off): the only question asked of a name.
 */
export function belongsToStack(settings: Pick<StackSettings, 'appPrefix'>, name: string): boolean {
  return name.startsWith(`${settings.appPrefix}-`);
}

/** A worker's base URL: a wildcard bind is reached on loopback. */
export function workerUrl(settings: StackSettings, port: number): string {
  const host = settings.workers.host === '0.0.0.0' ? '127.0.0.1' : settings.workers.host;
  return `http://${host}:${port}`;
}

/**
 * This host's apps in the order pm2 starts them: all of them on one machine; over several hosts
 * (STACK_HOSTS) this host's Galera node, its agent, its HAProxy and its workers.
 */
export function stackApps(settings: StackSettings): StackApp[] {
  const p = settings.appPrefix;
  const here = settings.hosts?.thisHost.name ?? LOCAL_HOST;
  const hp = hostPrefix(settings);
  const claims = (app: string, list: Array<[string, string, number]>): PortClaim[] =>
    list.map(([setting, host, port]) => ({ app, setting, host, port }));
  const apps: StackApp[] = [];
  if (settings.database.embedded) {
    const name = `${p}-mariadb`;
    apps.push({
      name,
      kind: 'database',
      host: here,
      ports: claims(name, [['MYSQL_PORT', '127.0.0.1', settings.database.port]]),
      url: `mysql://${settings.database.host}:${settings.database.port}`,
      stopOrder: 2,
      onChange: 'report',
    });
  }
  if (settings.database.topology === 'galera') {
    const hosts = settings.hosts;
    // Over several hosts, node i runs on host i.
    const nodes = galeraLayoutOf(settings).nodes.filter(
      (node) => !hosts || hosts.hosts[node.index - 1]?.name === hosts.thisHost.name,
    );
    for (const node of nodes) {
      const name = galeraNodeAppName(settings, node.name);
      const i = node.index;
      const address = nodeAddress(node);
      apps.push({
        name,
        kind: 'galera-node',
        host: here,
        node: node.name,
        stopOrder: 3,
        onChange: 'report',
        ports: claims(name, [
          [`GALERA_CLIENT_PORT (+${i - 1})`, '127.0.0.1', node.ports.client],
          [`GALERA_GROUP_PORT (n${i})`, address, node.ports.group],
          [`GALERA_IST_PORT (n${i})`, address, node.ports.ist],
          [`GALERA_SST_PORT (n${i})`, address, node.ports.sst],
        ]),
        url: `mysql://127.0.0.1:${node.ports.client}`,
      });
    }
  }
  if (runsGaleraAgent(settings)) {
    const name = `${hp}galera-agent`;
    const targets = agentTargets(settings);
    // Over several hosts the agent also answers the other hosts' proxies (all addresses).
    const agentHost = settings.hosts ? '0.0.0.0' : '127.0.0.1';
    apps.push({
      name,
      kind: 'galera-agent',
      host: here,
      stopOrder: 1,
      onChange: 'replace',
      ports: claims(
        name,
        // Node n<k>'s listener is GALERA_AGENT_PORT + k - 1 (over several hosts this host's node only).
        targets.map((t) => [`GALERA_AGENT_PORT (+${Number(t.name.slice(1)) - 1})`, agentHost, t.agentPort]),
      ),
      url: targets.map((t) => `http://127.0.0.1:${t.agentPort}/`).join('  '),
    });
  }
  const haproxy = `${hp}haproxy`;
  apps.push({
    name: haproxy,
    kind: 'haproxy',
    host: here,
    stopOrder: 1,
    onChange: 'replace',
    ports: claims(haproxy, [
      ['HAPROXY_PORT', settings.haproxy.host, settings.haproxy.port],
      ['HAPROXY_STATS_PORT', settings.haproxy.host, settings.haproxy.statsPort],
      ['HTTP_PORT', settings.haproxy.host, settings.haproxy.httpPort],
      // The writer table's peers listener (cluster/hosts/writer-peers.ts) and the status listener
      // (cluster/hosts/status-listener.ts), on this host's address.
      ...(settings.hosts
        ? ([
            ['STACK_HOSTS peersPort', settings.hosts.thisHost.address, settings.hosts.peersPort],
            ['STACK_HOSTS statusPort', settings.hosts.thisHost.address, settings.hosts.statusPort],
          ] as [string, string, number][])
        : []),
    ]),
    url:
      `http://${settings.haproxy.host}:${settings.haproxy.httpPort}  mysql://${settings.haproxy.host}:${settings.haproxy.port}  ` +
      `stats http://${settings.haproxy.host}:${settings.haproxy.statsPort}/stats`,
  });
  for (const port of settings.workers.ports) {
    const name = workerAppName(settings, port);
    apps.push({
      name,
      kind: 'worker',
      host: here,
      port,
      stopOrder: 0,
      onChange: 'rolling-reload',
      ports: claims(name, [['WORKER_PORTS', settings.workers.host, port]]),
      url: workerUrl(settings, port),
    });
  }
  if (settings.monitoring.enabled) {
    const prometheus = `${p}-prometheus`;
    const exporter = `${p}-mysqld-exporter`;
    apps.push({
      name: prometheus,
      kind: 'prometheus',
      host: here,
      stopOrder: 0,
      onChange: 'replace',
      ports: claims(prometheus, [['PROMETHEUS_PORT', '127.0.0.1', settings.monitoring.prometheusPort]]),
      url: `http://127.0.0.1:${settings.monitoring.prometheusPort}`,
    });
    apps.push({
      name: exporter,
      kind: 'exporter',
      host: here,
      stopOrder: 0,
      onChange: 'replace',
      ports: claims(exporter, [['MYSQLD_EXPORTER_PORT', '127.0.0.1', settings.monitoring.exporterPort]]),
      url: `http://127.0.0.1:${settings.monitoring.exporterPort}/metrics`,
    });
  }
  return apps;
}

/**
 * For status over several hosts (STACK_HOSTS): this host's apps (stackApps), then each other host's
 * Galera node and HAProxy as remote entries (`remote: true`, no port claims), which that host's own
 * pm2 runs. On one machine: stackApps.
 */
export function everyHostApps(settings: StackSettings): StackApp[] {
  const apps = stackApps(settings);
  const hosts = settings.hosts;
  if (!hosts) return apps;
  const nodes = galeraLayoutOf(settings).nodes;
  hosts.hosts.forEach((host, i) => {
    if (host.name === hosts.thisHost.name) return;
    const node = nodes[i]!;
    apps.push({
      name: galeraNodeAppName(settings, node.name),
      kind: 'galera-node',
      host: host.name,
      remote: true,
      node: node.name,
      stopOrder: 3,
      onChange: 'report',
      ports: [],
      url: `mysql://${nodeHostPortOf(host.address, node.ports.client)}`,
    });
    apps.push({
      name: `${hostPrefix(settings, host.name)}haproxy`,
      kind: 'haproxy',
      host: host.name,
      remote: true,
      stopOrder: 1,
      onChange: 'replace',
      ports: [],
      url: `peers ${nodeHostPortOf(host.address, hosts.peersPort)}`,
    });
  });
  return apps;
}

function nodeHostPortOf(address: string, port: number): string {
  return `${address.includes(':') ? `[${address}]` : address}:${port}`;
}

/** The apps of `kind`. */
export function appsOfKind(apps: readonly StackApp[], ...kinds: AppKind[]): StackApp[] {
  return apps.filter((app) => kinds.includes(app.kind));
}

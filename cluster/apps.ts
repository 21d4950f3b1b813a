// The stack's apps, built once from the settings: each one's pm2 name, what kind of app it is, the ports
// it listens on (with the setting that chose each), the URL status prints, when `npm stop` stops it and
// what `npm start` does when its settings change. Everything else (status, stop, the plan, reload, the
// port check, restart-db, the HAProxy and Prometheus renderings, the pm2 app list in ecosystem.ts) reads
// this list instead of working out from a name or an exec_mode what an app is.
import { galeraLayoutOf } from './database/galera/env';
import { galeraTargets, runsGaleraAgent } from './database/galera/targets';
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

export interface StackApp {
  name: string;
  kind: AppKind;
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

/** The worker-name format: the pm2 app, HAProxy's front-door server and the `worker` metrics label. */
export function workerAppName(settings: Pick<StackSettings, 'appPrefix'>, port: number): string {
  return `${settings.appPrefix}-worker-${port}`;
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

/** The stack's apps in the order pm2 starts them. */
export function stackApps(settings: StackSettings): StackApp[] {
  const p = settings.appPrefix;
  const claims = (app: string, list: Array<[string, string, number]>): PortClaim[] =>
    list.map(([setting, host, port]) => ({ app, setting, host, port }));
  const apps: StackApp[] = [];
  if (settings.database.embedded) {
    const name = `${p}-mariadb`;
    apps.push({
      name,
      kind: 'database',
      ports: claims(name, [['MYSQL_PORT', '127.0.0.1', settings.database.port]]),
      url: `mysql://${settings.database.host}:${settings.database.port}`,
      stopOrder: 2,
      onChange: 'report',
    });
  }
  if (settings.database.topology === 'galera') {
    for (const node of galeraLayoutOf(settings).nodes) {
      const name = galeraNodeAppName(settings, node.name);
      const i = node.index;
      apps.push({
        name,
        kind: 'galera-node',
        node: node.name,
        stopOrder: 3,
        onChange: 'report',
        ports: claims(name, [
          [`GALERA_CLIENT_PORT (+${i - 1})`, '127.0.0.1', node.ports.client],
          [`GALERA_GROUP_PORT (n${i})`, '127.0.0.1', node.ports.group],
          [`GALERA_IST_PORT (n${i})`, '127.0.0.1', node.ports.ist],
          [`GALERA_SST_PORT (n${i})`, '127.0.0.1', node.ports.sst],
        ]),
        url: `mysql://127.0.0.1:${node.ports.client}`,
      });
    }
  }
  if (runsGaleraAgent(settings)) {
    const name = `${p}-galera-agent`;
    const targets = galeraTargets(settings);
    apps.push({
      name,
      kind: 'galera-agent',
      stopOrder: 1,
      onChange: 'replace',
      ports: claims(
        name,
        targets.map((t, i) => [`GALERA_AGENT_PORT (+${i})`, '127.0.0.1', t.agentPort]),
      ),
      url: targets.map((t) => `http://127.0.0.1:${t.agentPort}/`).join('  '),
    });
  }
  const haproxy = `${p}-haproxy`;
  apps.push({
    name: haproxy,
    kind: 'haproxy',
    stopOrder: 1,
    onChange: 'replace',
    ports: claims(haproxy, [
      ['HAPROXY_PORT', settings.haproxy.host, settings.haproxy.port],
      ['HAPROXY_STATS_PORT', settings.haproxy.host, settings.haproxy.statsPort],
      ['HTTP_PORT', settings.haproxy.host, settings.haproxy.httpPort],
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
      stopOrder: 0,
      onChange: 'replace',
      ports: claims(prometheus, [['PROMETHEUS_PORT', '127.0.0.1', settings.monitoring.prometheusPort]]),
      url: `http://127.0.0.1:${settings.monitoring.prometheusPort}`,
    });
    apps.push({
      name: exporter,
      kind: 'exporter',
      stopOrder: 0,
      onChange: 'replace',
      ports: claims(exporter, [['MYSQLD_EXPORTER_PORT', '127.0.0.1', settings.monitoring.exporterPort]]),
      url: `http://127.0.0.1:${settings.monitoring.exporterPort}/metrics`,
    });
  }
  return apps;
}

/** The apps of `kind`. */
export function appsOfKind(apps: readonly StackApp[], ...kinds: AppKind[]): StackApp[] {
  return apps.filter((app) => kinds.includes(app.kind));
}

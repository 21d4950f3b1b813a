// Before pm2 starts an app, its ports must be free: a worker started on a port another process holds
// exits with EADDRINUSE, pm2 restarts it over and over, and a readiness probe may even reach the other
// listener and report nonsense. So `npm start` checks first and names the process holding each port.
import { spawnSync } from 'node:child_process';
import net from 'node:net';
import { galeraAgentAppName, galeraNodeAppName, workerAppName } from './ecosystem';
import { galeraLayoutOf } from './database/galera/env';
import { galeraTargets } from './database/galera/targets';
import { findSystemBinary } from './system-packages';
import type { StackSettings } from './settings';

export interface PortClaim {
  app: string;
  setting: string;
  host: string;
  port: number;
}

/** The ports app `name` of this stack listens on, with the setting that chose each. */
export function portsOf(settings: StackSettings, name: string): PortClaim[] {
  const p = settings.appPrefix;
  const claim = (setting: string, host: string, port: number): PortClaim => ({ app: name, setting, host, port });
  if (name === `${p}-mariadb`) return [claim('MYSQL_PORT', '127.0.0.1', settings.mysqlPort)];
  if (name === `${p}-haproxy`) {
    return [claim('HAPROXY_PORT', settings.haproxyHost, settings.haproxyPort),
      claim('HAPROXY_STATS_PORT', settings.haproxyHost, settings.haproxyStatsPort),
      claim('HTTP_PORT', settings.haproxyHost, settings.httpPort)];
  }
  if (settings.dbTopology === 'galera') {
    const node = galeraLayoutOf(settings).nodes.find((n) => galeraNodeAppName(settings, n.name) === name);
    if (node) {
      const i = node.index;
      return [claim(`GALERA_CLIENT_PORT (+${i - 1})`, '127.0.0.1', node.ports.client), claim(`GALERA_GROUP_PORT (n${i})`, '127.0.0.1', node.ports.group),
        claim(`GALERA_IST_PORT (n${i})`, '127.0.0.1', node.ports.ist), claim(`GALERA_SST_PORT (n${i})`, '127.0.0.1', node.ports.sst)];
    }
  }
  if (name === galeraAgentAppName(settings)) {
    return galeraTargets(settings).map((t, i) => claim(`GALERA_AGENT_PORT (+${i})`, '127.0.0.1', t.agentPort));
  }
  if (name === `${p}-prometheus`) return [claim('PROMETHEUS_PORT', '127.0.0.1', settings.prometheusPort)];
  if (name === `${p}-mysqld-exporter`) return [claim('MYSQLD_EXPORTER_PORT', '127.0.0.1', settings.mysqldExporterPort)];
  const port = settings.workerPorts.find((candidate) => workerAppName(settings, candidate) === name);
  return port === undefined ? [] : [claim('WORKER_PORTS', settings.workerHost, port)];
}

function canListen(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen({ host, port, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/** `python3 (pid 1234)` for the process listening on `port`, from `ss`; undefined when it cannot tell. */
export function listenerOf(port: number): string | undefined {
  const ss = findSystemBinary('ss');
  if (ss === undefined) return undefined;
  const result = spawnSync(ss, ['-H', '-ltnp', `sport = :${port}`], { encoding: 'utf8' });
  const match = /users:\(\("([^"]+)",pid=(\d+)/.exec(result.stdout ?? '');
  return match ? `${match[1]} (pid ${match[2]})` : undefined;
}

/** One sentence per port that is taken, for the apps about to start. */
export async function takenPorts(claims: PortClaim[]): Promise<string[]> {
  const problems: string[] = [];
  for (const claim of claims) {
    if (await canListen(claim.host, claim.port)) continue;
    const owner = listenerOf(claim.port);
    problems.push(`Port ${claim.port} (${claim.setting}, for ${claim.app}) is already in use${owner ? ` by ${owner}` : ''}: `
      + `stop that process or choose another port with ${claim.setting}.`);
  }
  return problems;
}

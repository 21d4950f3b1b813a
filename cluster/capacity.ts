// Capacity planning, checked when the settings are read: the HAProxy server slots the workers' pools
// need (the maxconn budget, a rolling reload's overlap included) and ports two parts of the stack would
// both listen on. Pure functions of the parsed settings; cluster/settings.ts reports what they find.
import { portsFromBase } from './database/galera/layout';
import type { StackSettings } from './settings';

/** What the checks read of the stack's settings: the parts with ports and HAProxy's capacity. */
export type CapacitySettings = Pick<StackSettings, 'workers' | 'haproxy' | 'database' | 'galera' | 'monitoring'>;

/** Ports two parts of the stack would both listen on (only those of parts this stack runs). */
export function portClashes(settings: CapacitySettings): string[] {
  const owners = new Map<number, string[]>();
  const claim = (port: number, owner: string) => owners.set(port, [...(owners.get(port) ?? []), owner]);
  for (const port of settings.workers.ports) claim(port, 'WORKER_PORTS');
  claim(settings.haproxy.port, 'HAPROXY_PORT');
  claim(settings.haproxy.statsPort, 'HAPROXY_STATS_PORT');
  claim(settings.haproxy.httpPort, 'HTTP_PORT');
  if (settings.database.embedded) claim(settings.database.port, 'MYSQL_PORT');
  if (settings.galera.local) {
    for (const [i, ports] of portsFromBase(settings.galera.local.nodes, settings.galera.local.basePorts).entries()) {
      for (const [kind, value] of Object.entries(ports)) claim(value, `GALERA_${kind.toUpperCase()}_PORT (n${i + 1})`);
    }
  }
  if (settings.monitoring.enabled) {
    claim(settings.monitoring.prometheusPort, 'PROMETHEUS_PORT');
    claim(settings.monitoring.exporterPort, 'MYSQLD_EXPORTER_PORT');
  }
  return [...owners]
    .filter(([, names]) => names.length > 1)
    .map(
      ([port, names]) =>
        `Port ${port} is given to ${[...new Set(names)].join(' and ')}${new Set(names).size === 1 ? ' twice' : ''}; each part needs its own.`,
    );
}

/**
 * pm2 reloads at most PM2_CONCURRENT_ACTIONS apps at once (2 unless set); `npm run reload` reloads one
 * at a time. Each app being reloaded briefly has two processes, each with its own pool.
 */
export const PM2_RELOAD_CONCURRENCY = 2;

/**
 * HAProxy server slots the workers need: their pools steadily, at the peak of a rolling reload, and one
 * per worker for the short side connection that sends KILL QUERY when a client leaves (server/db/
 * kill-queries.ts: a worker opens at most one at a time). A reload's overlapping process shares its
 * port's cancellation slot: should both cancel in the same milliseconds, one KILL waits in HAProxy's queue.
 */
export function maxconnBudget(
  workers: number,
  poolSize: number,
): { steady: number; reloadOverlap: number; cancellation: number; total: number } {
  const steady = workers * poolSize;
  const reloadOverlap = Math.min(workers, PM2_RELOAD_CONCURRENCY) * poolSize;
  const cancellation = workers;
  return { steady, reloadOverlap, cancellation, total: steady + reloadOverlap + cancellation };
}

/**
 * The maxconn budget's problem, if the workers' pools need more of HAProxy's server slots than
 * HAPROXY_SERVER_MAXCONN gives. Pooled connections stay open while idle and each holds one slot, so a
 * worker beyond the budget would queue in HAProxy on every connect and never become ready. A rolling
 * reload runs a port's new worker beside its old one until the new one is ready: those overlaps need slots too.
 */
export function maxconnProblem(settings: CapacitySettings): string | undefined {
  const budget = maxconnBudget(settings.workers.ports.length, settings.workers.poolSize);
  if (budget.total <= settings.haproxy.serverMaxconn) return undefined;
  return (
    `${settings.workers.ports.length} workers x DB_POOL_SIZE ${settings.workers.poolSize} = ${budget.steady} connections, ` +
    `plus ${budget.reloadOverlap} while a reload runs old and new workers side by side, ` +
    `plus ${budget.cancellation} for KILL QUERY side connections (one per worker) = ${budget.total}, ` +
    `more than HAPROXY_SERVER_MAXCONN ${settings.haproxy.serverMaxconn}: idle pooled connections keep their HAProxy slot, ` +
    'so the extra workers could never connect. Raise HAPROXY_SERVER_MAXCONN or lower one of the others.'
  );
}

// What `npm start` and `npm run status` print: every app of the stack with its pm2 state, and for each
// worker whether it is ready and what its pool holds.
import { buildApps, logPath, workerAppName } from './ecosystem';
import { listProcesses, type Pm2Process } from './pm2';
import { probeWorker, type WorkerProbe } from './readiness';
import type { StackSettings } from './settings';
import { renderTable } from './table';

export interface AppStatus {
  name: string;
  pm2?: Pm2Process;
  url: string;
  probe?: WorkerProbe;
  /** Running under this stack's prefix but not part of the current settings. */
  stale?: boolean;
}

export function workerUrl(settings: StackSettings, port: number): string {
  const host = settings.workerHost === '0.0.0.0' ? '127.0.0.1' : settings.workerHost;
  return `http://${host}:${port}`;
}

function urlFor(settings: StackSettings, name: string): string {
  const p = settings.appPrefix;
  if (name === `${p}-mariadb`) return `mysql://${settings.mysqlHost}:${settings.mysqlPort}`;
  if (name === `${p}-haproxy`) {
    return `mysql://${settings.haproxyHost}:${settings.haproxyPort}  stats http://127.0.0.1:${settings.haproxyStatsPort}/stats`;
  }
  if (name === `${p}-prometheus`) return `http://127.0.0.1:${settings.prometheusPort}`;
  if (name === `${p}-mysqld-exporter`) return `http://127.0.0.1:${settings.mysqldExporterPort}/metrics`;
  const port = settings.workerPorts.find((candidate) => workerAppName(settings, candidate) === name);
  return port === undefined ? '' : workerUrl(settings, port);
}

export async function stackStatus(settings: StackSettings): Promise<AppStatus[]> {
  const processes = await listProcesses();
  const statuses: AppStatus[] = buildApps(settings).map((app) => ({
    name: app.name,
    pm2: processes.find((proc) => proc.name === app.name),
    url: urlFor(settings, app.name),
  }));
  // Apps of this stack's prefix that the current settings no longer list (WORKER_PORTS changed, or
  // MONITORING was on): shown, so nothing runs unseen.
  for (const proc of processes) {
    if (proc.name.startsWith(`${settings.appPrefix}-`) && !statuses.some((s) => s.name === proc.name)) {
      statuses.push({ name: proc.name, pm2: proc, url: 'not in the current settings', stale: true });
    }
  }
  await Promise.all(settings.workerPorts.map(async (port) => {
    const status = statuses.find((s) => s.name === workerAppName(settings, port));
    if (status) status.probe = await probeWorker(workerUrl(settings, port));
  }));
  return statuses;
}

export function renderStatus(statuses: AppStatus[]): string {
  const rows = statuses.map((s) => {
    const pool = s.probe?.pool;
    return [
      s.name,
      s.pm2?.status ?? 'not running',
      s.pm2 ? String(s.pm2.pid) : '-',
      s.pm2 ? String(s.pm2.restarts) : '-',
      s.probe ? s.probe.detail : '',
      pool ? `${pool.used}/${pool.limit} used, ${pool.idle} idle, ${pool.pending} pending` : '',
      s.url,
    ];
  });
  return renderTable(['app', 'pm2', 'pid', 'restarts', 'ready', 'pool', 'url'], rows);
}

export { logPath };

// What `npm start` and `npm run status` print: every app of the stack with its pm2 state (uptime,
// restarts, memory, CPU), for each worker whether it is ready and what its pool holds, and HAProxy's
// own view of the MySQL server and of each worker behind the front door. Over several hosts
// (STACK_HOSTS) also every host's proxy, read over the network, with the node it writes to
// (cluster/hosts/hosts-table.ts).
import { appsOfKind, belongsToStack, everyHostApps, stackApps, workerUrl } from './apps';
import { logPath } from './ecosystem';
import { galeraLayoutOf } from './database/galera/env';
import { nodeAdminLogin } from './database/galera/node';
import { galeraTargets, runsGaleraAgent } from './database/galera/targets';
import { checkNode } from './database/galera/wsrep-status';
import { haproxyPaths } from './haproxy/config-files';
import { haproxyServerStates, stickTableServer, type HaproxyServerState } from './haproxy/stats';
import { proxyJson, renderHostsTable } from './hosts/hosts-table';
import type { ProxyView } from './hosts/proxy-view';
import { readProxyViews } from './hosts/read-proxies';
import { listProcesses, type Pm2Process } from './pm2';
import { probeWorker, type WorkerProbe } from './worker/readiness';
import type { StackSettings } from './settings';
import { renderTable } from './table';

export interface AppStatus {
  name: string;
  pm2?: Pm2Process;
  url: string;
  probe?: WorkerProbe;
  /** HAProxy's view: the MySQL server for the database app, the front door's server for a worker. */
  haproxy?: HaproxyServerState;
  /** Running under this stack's prefix but not part of the current settings. */
  stale?: boolean;
  /** A Galera node: its wsrep state, and whether HAProxy sends the writes to it. */
  galera?: GaleraNodeStatus;
  /** Another host's app (STACK_HOSTS): shown, not started here, so never waited for. */
  remote?: boolean;
  /**
   * A host's HAProxy over several hosts (this host's and each other one's): that proxy as read over
   * the network (cluster/hosts/status-listener.ts), and the Galera node of its host.
   */
  proxy?: { view: ProxyView; node: string };
}

export interface GaleraNodeStatus {
  node: string;
  /** Synced, Primary and wsrep_ready=ON: what the agent answers 200 for. */
  ok: boolean;
  state: string;
  clusterSize: string;
  clusterStatus: string;
  /** HAProxy's stick table points at this node: new connections, and so the writes, go here. */
  writer: boolean;
  reason?: string;
}

/** One status per Galera node (its wsrep variables read directly, over its socket or its port). */
async function galeraStatuses(settings: StackSettings): Promise<GaleraNodeStatus[]> {
  const writer = await stickTableServer(haproxyPaths(settings).socket);
  if (settings.database.topology === 'galera') {
    const here = settings.hosts?.thisHost.address;
    return Promise.all(
      galeraLayoutOf(settings).nodes.map(async (node) =>
        // Another host's node (STACK_HOSTS): through its host's agent, over the network.
        node.address !== undefined && node.address !== here
          ? agentStatus(node.name, `http://${node.address}:${node.ports.agent}/`, writer)
          : toStatus(node.name, await checkNode(nodeAdminLogin(node), 1000), writer),
      ),
    );
  }
  // External servers: through the agent when it runs (it holds the check account), else unknown.
  return Promise.all(
    galeraTargets(settings).map(async (target) => {
      if (!runsGaleraAgent(settings))
        return {
          node: target.name,
          ok: false,
          state: 'unknown (no agent)',
          clusterSize: '',
          clusterStatus: '',
          writer: writer === target.name,
        };
      return agentStatus(target.name, `http://127.0.0.1:${target.agentPort}/`, writer);
    }),
  );
}

/** A node's status as its health agent answers at `url` (the agent holds the check account). */
async function agentStatus(name: string, url: string, writer: string | undefined): Promise<GaleraNodeStatus> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(2000) });
    const body = (await response.json()) as Record<string, string | undefined>;
    return {
      node: name,
      ok: response.status === 200,
      state: body.wsrep_local_state_comment ?? 'unreachable',
      clusterSize: body.wsrep_cluster_size ?? '',
      clusterStatus: body.wsrep_cluster_status ?? '',
      writer: writer === name,
      ...(body.reason === undefined ? {} : { reason: body.reason }),
    };
  } catch (error) {
    return {
      node: name,
      ok: false,
      state: 'agent unreachable',
      clusterSize: '',
      clusterStatus: '',
      writer: writer === name,
      reason: String(error),
    };
  }
}

function toStatus(
  name: string,
  health: Awaited<ReturnType<typeof checkNode>>,
  writer: string | undefined,
): GaleraNodeStatus {
  return {
    node: name,
    ok: health.ok,
    state: health.status.wsrep_local_state_comment ?? 'unreachable',
    clusterSize: health.status.wsrep_cluster_size ?? '',
    clusterStatus: health.status.wsrep_cluster_status ?? '',
    writer: writer === name,
    ...(health.reason === undefined ? {} : { reason: health.reason }),
  };
}

/** Over several hosts: every host's proxy, through its status listener, with this host's certificate. */
async function proxyViews(settings: StackSettings): Promise<ProxyView[]> {
  const hosts = settings.hosts;
  if (!hosts) return [];
  const layout = galeraLayoutOf(settings);
  const own = layout.nodes[hosts.hosts.findIndex((host) => host.name === hosts.thisHost.name)]!;
  return readProxyViews(hosts.hosts, hosts.statusPort, { ca: layout.tls.ca, cert: own.tls.cert, key: own.tls.key });
}

export async function stackStatus(settings: StackSettings): Promise<AppStatus[]> {
  const [processes, servers, proxies] = await Promise.all([
    listProcesses(),
    haproxyServerStates(settings),
    proxyViews(settings),
  ]);
  const apps = stackApps(settings);
  const statuses: AppStatus[] = apps.map((app) => ({
    name: app.name,
    pm2: processes.find((proc) => proc.name === app.name),
    url: app.url,
  }));
  // Apps of this stack's prefix that the current settings no longer list (WORKER_PORTS changed, or
  // MONITORING was on): shown, so nothing runs unseen.
  for (const proc of processes) {
    if (belongsToStack(settings, proc.name) && !statuses.some((s) => s.name === proc.name)) {
      statuses.push({ name: proc.name, pm2: proc, url: 'not in the current settings', stale: true });
    }
  }
  const server = (proxy: string, name: string) => servers?.find((s) => s.proxy === proxy && s.server === name);
  const statusOf = (name: string) => statuses.find((s) => s.name === name);
  for (const app of appsOfKind(apps, 'database')) statusOf(app.name)!.haproxy = server('mysql', 'mysql1');
  const galera = galeraTargets(settings).length > 0 ? await galeraStatuses(settings) : [];
  const remoteNodes = settings.hosts ? appsOfKind(everyHostApps(settings), 'galera-node').filter((a) => a.remote) : [];
  for (const node of galera) {
    const app = appsOfKind(apps, 'galera-node').find((a) => a.node === node.node);
    let status = app && statusOf(app.name);
    const remote = remoteNodes.find((a) => a.node === node.node);
    if (!status && remote) {
      // Another host's node (STACK_HOSTS): its row, run by that host's pm2.
      status = { name: remote.name, url: `${remote.url} (on ${remote.host})`, remote: true };
      statuses.push(status);
    }
    if (!status) {
      // An external cluster's node: a row of its own, with no pm2 app behind it.
      status = {
        name: `galera ${node.node}`,
        url: `mysql://${galeraTargets(settings).find((t) => t.name === node.node)?.host ?? ''}`,
      };
      statuses.push(status);
    }
    status.galera = node;
    status.haproxy = server('mysql', node.node);
  }
  // Every host's HAProxy (STACK_HOSTS): this host's row, and a row for each other host's.
  const hosts = settings.hosts;
  if (hosts) {
    for (const app of appsOfKind(everyHostApps(settings), 'haproxy')) {
      const view = proxies.find((p) => p.host === app.host);
      if (!view) continue;
      let status = statusOf(app.name);
      if (!status) {
        status = { name: app.name, url: `${app.url} (on ${app.host})`, remote: true };
        statuses.push(status);
      }
      status.proxy = { view, node: `n${hosts.hosts.findIndex((h) => h.name === app.host) + 1}` };
    }
  }
  await Promise.all(
    appsOfKind(apps, 'worker').map(async (app) => {
      const status = statusOf(app.name)!;
      // The front door's server for a worker is named as its pm2 app (cluster/haproxy/config-files.ts).
      status.haproxy = server('workers', app.name);
      status.probe = await probeWorker(workerUrl(settings, app.port!));
    }),
  );
  return statuses;
}

/** `3h12m`, `45s`: the largest two units. */
export function formatUptime(ms: number): string {
  const s = Math.floor(ms / 1000);
  const units: [number, string][] = [
    [Math.floor(s / 86_400), 'd'],
    [Math.floor(s / 3600) % 24, 'h'],
    [Math.floor(s / 60) % 60, 'm'],
    [s % 60, 's'],
  ];
  const first = units.findIndex(([value]) => value > 0);
  if (first < 0) return '0s';
  return units
    .slice(first, first + 2)
    .filter(([value]) => value > 0)
    .map(([value, unit]) => `${value}${unit}`)
    .join('');
}

function haproxyCell(state: HaproxyServerState | undefined, galera?: GaleraNodeStatus, proxy?: ProxyView): string {
  // A host's proxy (STACK_HOSTS): as read over the network.
  if (proxy) return proxy.reachable ? `up, writes to ${proxy.writer ?? 'none yet'}` : 'unreachable';
  const writer = galera?.writer ? ', WRITER' : '';
  return state ? `${state.status}${writer}, ${state.sessions} sess, ${state.queue} queued` : '';
}

function galeraCell(g: GaleraNodeStatus): string {
  return `${g.state}${g.clusterStatus && g.clusterStatus !== 'Primary' ? ` (${g.clusterStatus})` : ''}${g.clusterSize ? `, size ${g.clusterSize}` : ''}`;
}

/**
 * Whether a row is up, for `npm start` (what it waits for), `npm run reload` and `npm run status` (their
 * exit codes): online in pm2; a worker ready and seen UP by the front door; a Galera node Synced in a
 * Primary component (a node of an external cluster, with no pm2 app, by that alone). An app the
 * settings no longer list is not asked about.
 */
export function appReady(s: AppStatus): boolean {
  // Another host's app is that host's to start; a stale one is not asked about.
  if (s.stale || s.remote) return true;
  if (s.pm2 === undefined && s.galera) return s.galera.ok;
  return (
    s.pm2?.status === 'online' &&
    (s.probe === undefined || (s.probe.ready && s.haproxy?.status === 'UP')) &&
    (s.galera === undefined || s.galera.ok)
  );
}

export function renderStatus(statuses: AppStatus[]): string {
  const rows = statuses.map((s) => {
    const pool = s.probe?.pool;
    const running = s.pm2?.status === 'online';
    return [
      s.name,
      s.pm2?.status ?? (s.remote ? 'remote' : s.galera ? 'external' : 'not running'),
      s.pm2 ? String(s.pm2.pid) : '-',
      running ? formatUptime(s.pm2!.uptimeMs) : '-',
      s.pm2 ? String(s.pm2.restarts) : '-',
      running ? `${Math.round(s.pm2!.memoryBytes / 1048576)} MB` : '-',
      running ? `${s.pm2!.cpuPercent}%` : '-',
      s.probe ? s.probe.detail : s.galera ? galeraCell(s.galera) : '',
      pool ? `${pool.used}/${pool.limit} used, ${pool.idle} idle, ${pool.pending} pending` : '',
      haproxyCell(s.haproxy, s.galera, s.proxy?.view),
      s.url,
    ];
  });
  const table = renderTable(
    ['app', 'pm2', 'pid', 'uptime', 'restarts', 'memory', 'cpu', 'ready', 'pool', 'haproxy', 'url'],
    rows,
  );
  const hosts = hostRows(statuses);
  return hosts.length === 0 ? table : `${table}\n\n${renderHostsTable(hosts)}`;
}

/** Over several hosts: one row per host in topology order (node n<i> on host i), from its proxy's row and its node's. */
function hostRows(statuses: AppStatus[]) {
  const order = (node: string) => Number(node.slice(1));
  const proxies = statuses.filter((s) => s.proxy).sort((a, b) => order(a.proxy!.node) - order(b.proxy!.node));
  return proxies.flatMap((s) => {
    if (!s.proxy) return [];
    const { view, node } = s.proxy;
    const galera = statuses.find((g) => g.galera?.node === node)?.galera;
    return [
      { host: view.host, address: view.address, node, galera: galera ? galeraCell(galera) : 'unknown', proxy: view },
    ];
  });
}

/** The same as the table, for scripts (`npm run status -- --json`). */
export function statusJson(statuses: AppStatus[]): object[] {
  const proxies = statuses.flatMap((s) => (s.proxy ? [s.proxy.view] : []));
  return statuses.map((s) => ({
    name: s.name,
    status: s.pm2?.status ?? (s.remote ? 'remote' : 'not running'),
    pid: s.pm2?.pid ?? null,
    uptimeSeconds: s.pm2?.status === 'online' ? Math.floor(s.pm2.uptimeMs / 1000) : null,
    restarts: s.pm2?.restarts ?? null,
    memoryBytes: s.pm2?.status === 'online' ? s.pm2.memoryBytes : null,
    cpuPercent: s.pm2?.status === 'online' ? s.pm2.cpuPercent : null,
    ready: s.probe ? s.probe.ready : null,
    readyDetail: s.probe?.detail ?? null,
    pool: s.probe?.pool ?? null,
    haproxy: s.haproxy ? { status: s.haproxy.status, sessions: s.haproxy.sessions, queue: s.haproxy.queue } : null,
    url: s.url,
    stale: s.stale === true,
    ...(s.remote ? { remote: true } : {}),
    ...(s.galera ? { galera: s.galera } : {}),
    ...(s.proxy ? { proxy: { ...proxyJson(s.proxy.view, proxies), node: s.proxy.node } } : {}),
  }));
}

export { logPath };

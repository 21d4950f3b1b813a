// Front doors over every host's workers (issue 19, item 3). With STACK_HOSTS each host's front door
// (`backend workers` and `backend workers-alive`, cluster/haproxy/config-files.ts) lists the workers of
// ALL hosts, with equal weight under the front door's `balance leastconn`: this host's over loopback,
// the others at their hosts' addresses, every one checked (/readyz, /healthz) and retried exactly as on
// one machine (connection failures only for a POST, so none is sent twice).
//
// Equal weight, not "local first, remote as backup": with a floating address (keepalived VRRP) every
// client reaches one host's front door, and local-first would leave the other hosts' workers idle until
// every local one failed. A remote worker costs one LAN hop for the HTTP request; its database path is
// the same as a local worker's (its own host's HAProxy, the one writer), so nothing else changes.
import type { StackSettings } from '../settings';
import type { TopologyHost } from './topology';

export interface FrontDoorServer {
  /** The worker's pm2 app name on its host (`kh-h2-worker-8000`): the server's name in every front door. */
  name: string;
  /** Where this host's front door reaches it: 127.0.0.1 for its own workers. */
  address: string;
  port: number;
}

function hostPort(address: string, port: number): string {
  return `${address.includes(':') ? `[${address}]` : address}:${port}`;
}

/**
 * Every host's workers as `thisHost`'s front door sees them, host by host in topology order (every host
 * runs the same WORKER_PORTS). `nameOf(port, host)` gives a worker's app name.
 */
export function frontDoorServers(
  hosts: readonly TopologyHost[],
  thisHost: string,
  ports: readonly number[],
  nameOf: (port: number, host: string) => string,
): FrontDoorServer[] {
  return hosts.flatMap((host) =>
    ports.map((port) => ({
      name: nameOf(port, host.name),
      address: host.name === thisHost ? '127.0.0.1' : host.address,
      port,
    })),
  );
}

/** A server line of the front door's backends. */
export function frontDoorServerLine(server: FrontDoorServer): string {
  return `    server ${server.name} ${hostPort(server.address, server.port)} check`;
}

/**
 * The address the workers listen on. One machine: WORKER_HOST (127.0.0.1). Over several hosts the other
 * hosts' front doors must reach them, and this host's front door, status and Prometheus reach them over
 * loopback, so a loopback WORKER_HOST becomes every address (as the Galera agent does); the worker ports
 * are then to be opened between the hosts only (docs/multi-host.md, "Ports between hosts").
 */
export function workerListenHost(settings: Pick<StackSettings, 'hosts' | 'workers'>): string {
  const host = settings.workers.host;
  if (!settings.hosts) return host;
  return host === '127.0.0.1' || host === 'localhost' ? '0.0.0.0' : host;
}

/**
 * The front door's bind list (HAPROXY_HTTP_BIND). One machine: HAPROXY_HOST:HTTP_PORT. Over several
 * hosts also this host's address, so a client outside the hosts (through DNS or a floating address) can
 * reach it; HAProxy takes a comma-separated list on one `bind`.
 */
export function frontDoorBind(settings: Pick<StackSettings, 'hosts' | 'haproxy'>): string {
  const local = hostPort(settings.haproxy.host, settings.haproxy.httpPort);
  const hosts = settings.hosts;
  if (!hosts || ['0.0.0.0', '::', hosts.thisHost.address].includes(settings.haproxy.host)) return local;
  return `${local},${hostPort(hosts.thisHost.address, settings.haproxy.httpPort)}`;
}

/**
 * Over several hosts, the front door's backends end a request in flight on a worker whose host is cut
 * off within seconds, instead of after `timeout server` (300 s, for /sleep) or the client's own timeout:
 * TCP keepalive on the connections to the workers, a probe after 1 s without traffic and every 1 s
 * after, the connection given up after 3 unanswered (about 3-4 s). HAProxy then treats it as a worker
 * that closed without an answer: a request it may send again (GET, HEAD, OPTIONS, or with an
 * Idempotency-Key; `retry-on ... empty-response`) goes to another worker, any other (an unkeyed POST,
 * `disable-l7-retry`) gets the front door's JSON 502 bad_gateway (`may or may not have been applied`):
 * it is never sent twice.
 *
 * Why not `on-marked-down shutdown-sessions` on the remote servers: it works for a cut (tried in the
 * lab: the same answers, ~2.7 s after the cut), but these servers are marked down by /readyz, which
 * fails for reasons other than a lost host: the worker's own database path down, its SELECT 1 slower
 * than the 1 s check on a loaded host. Every request in flight on it would then be cut too, and get a
 * 502 instead of the worker's own 503 database_unavailable or its real answer. A keepalive probe is
 * answered by the worker host's kernel whatever its database or event loop does, so it ends exactly the
 * connections whose host is gone. What it misses: a request still unacknowledged when the cut comes
 * (TCP retransmits it instead of probing), a window of one round trip.
 */
export function remoteWorkerLiveness(): string[] {
  return [
    '    # A worker host cut off: its connections end in ~3-4 s (cluster/hosts/front-doors.ts says why).',
    '    option srvtcpka',
    '    srvtcpka-idle 1s',
    '    srvtcpka-intvl 1s',
    '    srvtcpka-cnt 3',
  ];
}

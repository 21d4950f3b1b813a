// The variables haproxy/haproxy.cfg reads with HAProxy's own "${VAR}" expansion (no templating);
// cluster/haproxy/config-files.ts renders them as `setenv` lines HAProxy reads before haproxy.cfg.
import { embeddedPaths } from '../database/embedded';
import { frontDoorBind } from '../hosts/front-doors';
import { STATUS_LISTENER_MAXCONN } from '../hosts/status-listener';
import { checkUserProblem, type StackSettings } from '../settings';

/**
 * Where HAProxy reaches MySQL: an external server over TCP; the embedded one over its Unix socket (an
 * absolute path is one to HAProxy), where the passwordless check account lives at `localhost`, reachable
 * by no TCP client, and the socket by no other OS user (cluster/database/admin-account.ts).
 */
export function mysqlServerAddress(settings: StackSettings): string {
  return settings.database.embedded
    ? embeddedPaths(settings.stateDir).socket
    : `${settings.database.host}:${settings.database.port}`;
}

/** Connections the stats frontend takes at once: a browser's 6, Prometheus, `npm run status`, tests' polls. */
export const STATS_MAXCONN = 20;

/** The runtime API socket's own limit (`stats maxconn`, 10 unless set), part of the global maxconn. */
const RUNTIME_API_MAXCONN = 10;

export interface ListenerMaxconn {
  /** The front door (HAPROXY_HTTP_MAXCONN). */
  http: number;
  /** The MySQL listener: every server slot, and as many again waiting in the backend's queue. */
  mysql: number;
  stats: number;
  /**
   * HAProxy's global maxconn: all of the above, the runtime API socket and, over several hosts, the
   * status listener the other hosts read this proxy through, so none starves another.
   */
  global: number;
}

/** Each listener's own connection limit, and the global one that holds them all (reasons in haproxy.cfg). */
export function listenerMaxconn(settings: StackSettings): ListenerMaxconn {
  const http = settings.haproxy.httpMaxconn;
  const mysql = 2 * settings.haproxy.serverMaxconn;
  const status = settings.hosts ? STATUS_LISTENER_MAXCONN : 0;
  return { http, mysql, stats: STATS_MAXCONN, global: http + mysql + STATS_MAXCONN + status + RUNTIME_API_MAXCONN };
}

/** Every variable haproxy.cfg uses. */
export function haproxyEnv(settings: StackSettings): Record<string, string> {
  // loadStackSettings refuses such a name already; settings built by hand meet the same rule here.
  const problem = checkUserProblem(settings.database.checkUser);
  if (problem) throw new Error(problem);
  const maxconn = listenerMaxconn(settings);
  return {
    HAPROXY_BIND: `${settings.haproxy.host}:${settings.haproxy.port}`,
    HAPROXY_STATS_BIND: `${settings.haproxy.host}:${settings.haproxy.statsPort}`,
    // Over several hosts also on this host's address (cluster/hosts/front-doors.ts).
    HAPROXY_HTTP_BIND: frontDoorBind(settings),
    MYSQL_ADDR: mysqlServerAddress(settings),
    HAPROXY_SERVER_MAXCONN: String(settings.haproxy.serverMaxconn),
    HAPROXY_MAXCONN: String(maxconn.global),
    HAPROXY_HTTP_MAXCONN: String(maxconn.http),
    HAPROXY_MYSQL_MAXCONN: String(maxconn.mysql),
    HAPROXY_STATS_MAXCONN: String(maxconn.stats),
    HAPROXY_CHECK_USER: settings.database.checkUser,
  };
}

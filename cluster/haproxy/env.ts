// The variables haproxy/haproxy.cfg reads with HAProxy's own "${VAR}" expansion (no templating);
// cluster/haproxy/config-files.ts renders them as `setenv` lines HAProxy reads before haproxy.cfg.
import { embeddedPaths } from '../database/embedded';
import { checkUserProblem, type StackSettings } from '../settings';

/**
 * Where HAProxy reaches MySQL: an external server over TCP; the embedded one over its Unix socket (an
 * absolute path is one to HAProxy), where the passwordless check account lives at `localhost`, reachable
 * by no TCP client, and the socket by no other OS user (cluster/database/admin-account.ts).
 */
export function mysqlServerAddress(settings: StackSettings): string {
  return settings.embeddedDb ? embeddedPaths(settings.stateDir).socket : `${settings.mysqlHost}:${settings.mysqlPort}`;
}

/** Every variable haproxy.cfg uses. */
export function haproxyEnv(settings: StackSettings): Record<string, string> {
  // loadStackSettings refuses such a name already; settings built by hand meet the same rule here.
  const problem = checkUserProblem(settings.checkUser);
  if (problem) throw new Error(problem);
  return {
    HAPROXY_BIND: `${settings.haproxyHost}:${settings.haproxyPort}`,
    HAPROXY_STATS_BIND: `${settings.haproxyHost}:${settings.haproxyStatsPort}`,
    HAPROXY_HTTP_BIND: `${settings.haproxyHost}:${settings.httpPort}`,
    MYSQL_ADDR: mysqlServerAddress(settings),
    HAPROXY_SERVER_MAXCONN: String(settings.haproxyServerMaxconn),
    HAPROXY_CHECK_USER: settings.checkUser,
  };
}


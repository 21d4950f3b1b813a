// The variables haproxy/haproxy.cfg reads with HAProxy's own "${VAR}" expansion (no templating);
// cluster/haproxy/config-files.ts renders them as `setenv` lines HAProxy reads before haproxy.cfg.
import { embeddedPaths } from '../database/embedded';
import type { StackSettings } from '../settings';

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
  // The value lands inside a double-quoted config word, where a quote or space would end it early.
  if (!/^[A-Za-z0-9_.@-]+$/.test(settings.checkUser)) {
    throw new Error(`DB_CHECK_USER "${settings.checkUser}" may only contain letters, digits, _ . @ and -.`);
  }
  return {
    HAPROXY_BIND: `${settings.haproxyHost}:${settings.haproxyPort}`,
    HAPROXY_STATS_BIND: `${settings.haproxyHost}:${settings.haproxyStatsPort}`,
    HAPROXY_HTTP_BIND: `${settings.haproxyHost}:${settings.httpPort}`,
    MYSQL_ADDR: mysqlServerAddress(settings),
    HAPROXY_SERVER_MAXCONN: String(settings.haproxyServerMaxconn),
    HAPROXY_CHECK_USER: settings.checkUser,
  };
}


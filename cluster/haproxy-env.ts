// The environment haproxy/haproxy.cfg reads with HAProxy's own "${VAR}" expansion (no templating),
// and the argv that runs it in the foreground under pm2 or a test.
import path from 'node:path';
import { PROJECT_ROOT, type StackSettings } from './settings';

export const HAPROXY_CFG = path.join(PROJECT_ROOT, 'haproxy', 'haproxy.cfg');

/** Every variable haproxy.cfg uses; merge it over process.env when spawning haproxy. */
export function haproxyEnv(settings: StackSettings): Record<string, string> {
  // The value lands inside a double-quoted config word, where a quote or space would end it early.
  if (!/^[A-Za-z0-9_.@-]+$/.test(settings.checkUser)) {
    throw new Error(`DB_CHECK_USER "${settings.checkUser}" may only contain letters, digits, _ . @ and -.`);
  }
  return {
    HAPROXY_BIND: `${settings.haproxyHost}:${settings.haproxyPort}`,
    HAPROXY_STATS_BIND: `${settings.haproxyHost}:${settings.haproxyStatsPort}`,
    MYSQL_ADDR: `${settings.mysqlHost}:${settings.mysqlPort}`,
    HAPROXY_SERVER_MAXCONN: String(settings.haproxyServerMaxconn),
    HAPROXY_CHECK_USER: settings.checkUser,
  };
}

/** `-db`: stay in the foreground and log to stdout, so pm2 (or a test) owns the process. */
export function haproxyArgs(cfgPath: string = HAPROXY_CFG): string[] {
  return ['-db', '-f', cfgPath];
}

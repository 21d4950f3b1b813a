// The monitoring processes pm2 runs beside the workers, Prometheus and prometheus-mysqld-exporter,
// and the config files they read from the state dir. Both are Debian's binaries, run directly.
import fs from 'node:fs';
import path from 'node:path';
import { appsOfKind, stackApps } from '../apps';
import { renderPrometheusConfig } from './prometheus-config';
import type { StackSettings } from '../settings';

export const PROMETHEUS_BIN = '/usr/bin/prometheus';
export const MYSQLD_EXPORTER_BIN = '/usr/bin/prometheus-mysqld-exporter';

/** The subset of a pm2 app definition these apps use. */
export interface Pm2App {
  name: string;
  script: string;
  interpreter: 'none';
  exec_mode: 'fork';
  args: string[];
  autorestart: boolean;
  exp_backoff_restart_delay: number;
  /** Milliseconds pm2 waits after SIGTERM before SIGKILL. */
  kill_timeout: number;
  merge_logs: boolean;
  out_file: string;
  error_file: string;
  env?: Record<string, string>;
}

// The fields every monitoring app shares; logs go where cluster/ecosystem.ts puts the others'.
function binaryApp(settings: StackSettings, name: string, script: string): Omit<Pm2App, 'args' | 'kill_timeout'> {
  const log = path.join(settings.stateDir, 'logs', `${name}.log`);
  return {
    name,
    script,
    interpreter: 'none',
    exec_mode: 'fork',
    autorestart: true,
    // A port already taken makes both exit at once; back off instead of spinning.
    exp_backoff_restart_delay: 200,
    merge_logs: true,
    out_file: log,
    error_file: log,
  };
}

export function prometheusPaths(settings: StackSettings): { dir: string; config: string; data: string } {
  const dir = path.join(settings.stateDir, 'prometheus');
  return { dir, config: path.join(dir, 'prometheus.yml'), data: path.join(dir, 'data') };
}

export function mysqldExporterPaths(settings: StackSettings): { dir: string; myCnf: string } {
  const dir = path.join(settings.stateDir, 'mysqld-exporter');
  return { dir, myCnf: path.join(dir, 'my.cnf') };
}

/**
 * pm2 apps for the monitoring tier; none unless settings.monitoring.enabled. Both read files from
 * the state dir: call writeMonitoringConfig() before starting them.
 */
export function monitoringApps(settings: StackSettings): Pm2App[] {
  if (!settings.monitoring.enabled) return [];
  const prometheus = prometheusPaths(settings);
  const [prometheusApp, exporterApp] = [
    ...appsOfKind(stackApps(settings), 'prometheus'),
    ...appsOfKind(stackApps(settings), 'exporter'),
  ];
  return [
    {
      ...binaryApp(settings, prometheusApp!.name, PROMETHEUS_BIN),
      args: [
        `--config.file=${prometheus.config}`,
        `--storage.tsdb.path=${prometheus.data}`,
        // A development stack: two days of history is plenty and keeps the state dir small.
        '--storage.tsdb.retention.time=2d',
        `--web.listen-address=127.0.0.1:${settings.monitoring.prometheusPort}`,
        // Lets a re-rendered config be loaded with POST /-/reload instead of a restart.
        '--web.enable-lifecycle',
        // Keeps the request ids the workers attach to histogram buckets (OpenMetrics exemplars), for
        // /api/v1/query_exemplars and the dashboard's exemplar panel.
        '--enable-feature=exemplar-storage',
      ],
      // Prometheus flushes its head block on SIGTERM; killing it early means a WAL replay next start.
      kill_timeout: 10_000,
    },
    {
      ...binaryApp(settings, exporterApp!.name, MYSQLD_EXPORTER_BIN),
      args: [
        // Credentials come from a 0600 file, so they never appear in `pm2 show` or pm2's dump.
        `--config.my-cnf=${mysqldExporterPaths(settings).myCnf}`,
        `--web.listen-address=127.0.0.1:${settings.monitoring.exporterPort}`,
      ],
      // mysqld_exporter 0.14 prefers DATA_SOURCE_NAME over --config.my-cnf; blank out any value
      // inherited from the shell so the file above is what it uses.
      env: { DATA_SOURCE_NAME: '' },
      kill_timeout: 3_000,
    },
  ];
}

/**
 * The exporter's my.cnf. It connects to MySQL directly, not through HAProxy, so it still reports
 * when HAProxy is the thing that is broken.
 */
export function renderMysqldExporterCnf(settings: StackSettings): string {
  const values: Array<[string, string]> = [
    ['DB_EXPORTER_USER', settings.monitoring.exporterUser],
    ['DB_EXPORTER_PASSWORD', settings.monitoring.exporterPassword],
  ];
  for (const [name, value] of values) {
    // The exporter's INI parser cuts a value at '#' or ';' even inside double quotes; only
    // backquotes keep it verbatim (checked against mysqld_exporter 0.14), so those cannot appear.
    if (/[`\r\n]/.test(value)) throw new TypeError(`${name} must not contain backquotes or line breaks.`);
  }
  return [
    '# Written by cluster/monitoring/apps.ts on every start; edit the settings, not this file.',
    '[client]',
    `user = \`${settings.monitoring.exporterUser}\``,
    `password = \`${settings.monitoring.exporterPassword}\``,
    // A local Galera cluster: its first node (wsrep_* come with the default global-status collector;
    // the agent's job="galera" covers every node).
    `host = ${settings.galera.local ? '127.0.0.1' : settings.database.host}`,
    `port = ${settings.galera.local ? settings.galera.local.basePorts.client : settings.database.port}`,
    '',
  ].join('\n');
}

/** Renders <stateDir>/prometheus/prometheus.yml (rules by absolute path); returns its path. */
export function writePrometheusConfig(settings: StackSettings): string {
  const { dir, config, data } = prometheusPaths(settings);
  fs.mkdirSync(dir, { recursive: true });
  fs.mkdirSync(data, { recursive: true });
  fs.writeFileSync(config, renderPrometheusConfig(settings));
  return config;
}

/** Writes the exporter's my.cnf, readable by its owner only; returns its path. */
export function writeMysqldExporterCnf(settings: StackSettings): string {
  const { dir, myCnf } = mysqldExporterPaths(settings);
  fs.mkdirSync(dir, { recursive: true });
  // writeFileSync's mode only applies when it creates the file, so never rewrite an old one in place.
  fs.rmSync(myCnf, { force: true });
  fs.writeFileSync(myCnf, renderMysqldExporterCnf(settings), { mode: 0o600 });
  return myCnf;
}

/** Writes every file the monitoring apps read; call before starting monitoringApps(). */
export function writeMonitoringConfig(settings: StackSettings): void {
  writePrometheusConfig(settings);
  writeMysqldExporterCnf(settings);
}

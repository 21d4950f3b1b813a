// The app model (cluster/apps.ts): each app's kind, ports, stop order and what a change does, and the
// one worker-name format that pm2, HAProxy's front door and the Prometheus labels share.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { stackApps } from '../../cluster/apps';
import { buildApps } from '../../cluster/ecosystem';
import { renderWorkerBackend } from '../../cluster/haproxy/config-files';
import { renderPrometheusConfig } from '../../cluster/monitoring/prometheus-config';
import { loadStackSettings } from '../../cluster/settings';

describe('stackApps(settings)', () => {
  let stateDir: string;
  beforeEach(() => (stateDir = mkdtempSync(path.join(os.tmpdir(), 'kh-apps-'))));
  afterEach(() => rmSync(stateDir, { recursive: true, force: true }));

  it('gives each app of the default stack its kind, stop order and what a change does, in pm2 start order', () => {
    const apps = stackApps(loadStackSettings({ STACK_DIR: stateDir, MONITORING: '1' }));
    expect(apps.map((app) => [app.name, app.kind, app.stopOrder, app.onChange])).to.deep.equal([
      ['kh-mariadb', 'database', 2, 'report'],
      ['kh-haproxy', 'haproxy', 1, 'replace'],
      ['kh-worker-8000', 'worker', 0, 'rolling-reload'],
      ['kh-worker-8001', 'worker', 0, 'rolling-reload'],
      ['kh-prometheus', 'prometheus', 0, 'replace'],
      ['kh-mysqld-exporter', 'exporter', 0, 'replace'],
    ]);
  });

  it('names the ports of each app with the setting that chose them, and the URL status shows', () => {
    const apps = stackApps(loadStackSettings({ STACK_DIR: stateDir, WORKER_PORTS: '9100' }));
    expect(apps.map((app) => app.ports.map((claim) => `${claim.setting}=${claim.host}:${claim.port}`))).to.deep.equal([
      ['MYSQL_PORT=127.0.0.1:3307'],
      ['HAPROXY_PORT=127.0.0.1:5555', 'HAPROXY_STATS_PORT=127.0.0.1:8404', 'HTTP_PORT=127.0.0.1:8080'],
      ['WORKER_PORTS=127.0.0.1:9100'],
    ]);
    expect(apps.map((app) => app.url)).to.deep.equal([
      'mysql://127.0.0.1:3307',
      'http://127.0.0.1:8080  mysql://127.0.0.1:5555  stats http://127.0.0.1:8404/stats',
      'http://127.0.0.1:9100',
    ]);
  });

  it('a local Galera cluster: its nodes stop last and only report a change; the agent is replaced', () => {
    const apps = stackApps(loadStackSettings({ STACK_DIR: stateDir, DB_TOPOLOGY: 'galera' }));
    expect(
      apps
        .filter((app) => app.kind === 'galera-node')
        .map((app) => [app.name, app.node, app.stopOrder, app.onChange, app.ports.length]),
    ).to.deep.equal([
      ['kh-galera-n1', 'n1', 3, 'report', 4],
      ['kh-galera-n2', 'n2', 3, 'report', 4],
      ['kh-galera-n3', 'n3', 3, 'report', 4],
    ]);
    expect(apps.find((app) => app.kind === 'galera-agent')).to.deep.include({
      name: 'kh-galera-agent',
      stopOrder: 1,
      onChange: 'replace',
    });
    expect(apps.some((app) => app.kind === 'database')).to.equal(false);
  });

  it("is what the pm2 list, the front door's server names and the Prometheus worker labels are built from", () => {
    const settings = loadStackSettings({
      STACK_DIR: stateDir,
      STACK_NAME: 't2',
      WORKER_PORTS: '9100,9101',
      MONITORING: '1',
    });
    const apps = stackApps(settings);
    expect(buildApps(settings, {}, apps).map((app) => app.name)).to.deep.equal(apps.map((app) => app.name));
    const workers = apps.filter((app) => app.kind === 'worker').map((app) => app.name);
    expect(
      buildApps(settings, {})
        .filter((app) => workers.includes(app.name))
        .map((app) => app.env?.WORKER_NAME),
    ).to.deep.equal(workers);
    const backend = renderWorkerBackend(settings);
    const prometheus = renderPrometheusConfig(settings);
    for (const name of workers) {
      expect(backend).to.match(new RegExp(`server ${name} `));
      expect(prometheus).to.include(`worker: "${name}"`);
    }
  });
});

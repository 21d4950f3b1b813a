// DB_TOPOLOGY=galera in the stack's own pieces, without running anything: the settings, the pm2 apps,
// the stack plan (never restarts a node), the agent's metrics text.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { renderAgentMetrics } from '../../cluster/database/galera/health-agent';
import { stackApps } from '../../cluster/apps';
import { buildApps, databaseAppNames } from '../../cluster/ecosystem';
import type { Pm2Process } from '../../cluster/pm2';
import { provisionSecrets } from '../../cluster/secrets';
import { loadStackSettings } from '../../cluster/settings';
import { planStack } from '../../cluster/stack-plan';

describe('DB_TOPOLOGY=galera in the stack', function () {
  let stateDir: string;
  beforeEach(() => {
    stateDir = mkdtempSync(path.join(os.tmpdir(), 'kh-galera-int-'));
  });
  afterEach(() => rmSync(stateDir, { recursive: true, force: true }));

  it('settings: embedded by default, external with MYSQL_HOST, galera on request with a generated check password', function () {
    expect(provisionSecrets(loadStackSettings({ STACK_DIR: stateDir })).database.topology).to.equal('embedded');
    expect(
      provisionSecrets(loadStackSettings({ MYSQL_HOST: 'db', DB_PASSWORD: 'p', DB_EXPORTER_PASSWORD: 'e' })).database
        .topology,
    ).to.equal('external');
    const galera = provisionSecrets(loadStackSettings({ STACK_DIR: stateDir, DB_TOPOLOGY: 'galera' }));
    expect([
      galera.database.topology,
      galera.database.embedded,
      galera.galera.local?.nodes,
      galera.galera.checkUser,
      galera.galera.checkUserHost,
    ]).to.deep.equal(['galera', false, 3, 'galera_check', '127.0.0.1']);
    expect(galera.galera.checkPassword).to.match(/^[A-Za-z0-9_-]{32}$/);
    expect(galera.galera.checkPasswordFile).to.equal(path.join(stateDir, 'secrets', 'galera-check-password'));
  });

  it('settings: refuses an even node count, a clash with another port and MYSQL_HOST with galera', function () {
    expect(() =>
      provisionSecrets(loadStackSettings({ STACK_DIR: stateDir, DB_TOPOLOGY: 'galera', GALERA_NODES: '4' })),
    ).to.throw('GALERA_NODES must be an odd number of at least 3, got 4.');
    expect(() =>
      provisionSecrets(loadStackSettings({ STACK_DIR: stateDir, DB_TOPOLOGY: 'galera', GALERA_CLIENT_PORT: '8000' })),
    ).to.throw('Port 8000 is given to WORKER_PORTS and GALERA_CLIENT_PORT (n1)');
    expect(() =>
      provisionSecrets(loadStackSettings({ STACK_DIR: stateDir, DB_TOPOLOGY: 'galera', MYSQL_HOST: 'db' })),
    ).to.throw('MYSQL_HOST is set, which means DB_TOPOLOGY=external');
  });

  it('pm2 apps: one per node (wait_ready, kill_timeout >= 30 s, exit 75 not restarted) and the agent; no single MariaDB; no password in env', function () {
    const settings = provisionSecrets(loadStackSettings({ STACK_DIR: stateDir, DB_TOPOLOGY: 'galera' }));
    const apps = buildApps(settings, {});
    expect(apps.map((app) => app.name)).to.deep.equal([
      'kh-galera-n1',
      'kh-galera-n2',
      'kh-galera-n3',
      'kh-galera-agent',
      'kh-haproxy',
      'kh-worker-8000',
      'kh-worker-8001',
    ]);
    for (const app of apps.filter((a) => /galera-n/.test(a.name))) {
      expect([
        app.wait_ready,
        (app.kill_timeout ?? 0) >= 30_000,
        app.stop_exit_codes,
        String(app.script).endsWith('galera/pm2-entry.js'),
      ]).to.deep.equal([true, true, [75], true]);
    }
    expect(apps.map((app) => app.args)).to.deep.include.members([['n1'], ['n2'], ['n3'], ['agent']]);
    expect(JSON.stringify(apps)).not.to.include(settings.galera.checkPassword);
    expect(databaseAppNames(settings)).to.deep.equal(['kh-galera-n1', 'kh-galera-n2', 'kh-galera-n3']);
  });

  it('the stack plan reports changed node settings and restarts none; a stopped node is started again', function () {
    const settings = provisionSecrets(loadStackSettings({ STACK_DIR: stateDir, DB_TOPOLOGY: 'galera' }));
    const apps = buildApps(settings, {});
    const processes: Pm2Process[] = apps.map(
      (app, i) =>
        ({
          name: app.name,
          pid: 100 + i,
          status: app.name === 'kh-galera-n3' ? 'stopped' : 'online',
          restarts: 0,
          uptimeMs: 1,
          memoryBytes: 1,
          cpuPercent: 0,
          execMode: app.exec_mode === 'cluster' ? 'cluster_mode' : 'fork_mode',
          args: Array.isArray(app.args) ? app.args.map(String) : [],
          env: {
            ...(app.env ?? {}),
            GALERA_NODES: app.name.includes('galera-n') ? 'changed' : (app.env?.GALERA_NODES ?? ''),
          },
        }) as unknown as Pm2Process,
    );
    const plan = planStack(apps, processes, 'kh', stackApps(settings));
    expect(plan.restartGaleraNodes?.map((c) => c.name)).to.deep.equal(['kh-galera-n1', 'kh-galera-n2']);
    expect(plan.replace.map((c) => c.name)).to.deep.equal(['kh-galera-n3']);
    expect([plan.reload, plan.start]).to.deep.equal([[], []]);
  });

  it("the agent exports each node's wsrep state for Prometheus", function () {
    const text = renderAgentMetrics([
      {
        node: 'n1',
        health: {
          ok: true,
          status: {
            wsrep_local_state: '4',
            wsrep_cluster_size: '3',
            wsrep_cluster_status: 'Primary',
            wsrep_ready: 'ON',
            wsrep_connected: 'ON',
          },
        },
      },
      { node: 'n2', health: { ok: false, reason: 'gone', status: {} } },
    ]);
    for (const line of [
      'galera_cluster_expected_size 2',
      'galera_node_ready{node="n1"} 1',
      'galera_node_ready{node="n2"} 0',
      'galera_node_up{node="n2"} 0',
      'galera_wsrep_local_state{node="n1"} 4',
      'galera_wsrep_cluster_size{node="n1"} 3',
      'galera_wsrep_cluster_status_primary{node="n1"} 1',
    ]) {
      expect(text.split('\n')).to.include(line);
    }
    expect(text).not.to.include('galera_wsrep_cluster_size{node="n2"}');
  });
});

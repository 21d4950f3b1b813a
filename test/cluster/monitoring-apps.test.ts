import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import {
  monitoringApps,
  renderMysqldExporterCnf,
  writeMonitoringConfig,
  writeMysqldExporterCnf,
  writePrometheusConfig,
} from '../../cluster/monitoring/apps';
import { renderPrometheusConfig } from '../../cluster/monitoring/prometheus-config';
import { loadStackSettings } from '../../cluster/settings';

const STATE = '/tmp/t2-stack';
const env = {
  MONITORING: '1',
  STACK_NAME: 't2',
  STACK_DIR: STATE,
  PROMETHEUS_PORT: '9700',
  MYSQLD_EXPORTER_PORT: '9701',
  MYSQL_PORT: '3399',
  DB_EXPORTER_USER: 'exp',
  DB_EXPORTER_PASSWORD: 'p#a;s s',
  DB_PASSWORD: 'app-secret',
};

describe('monitoringApps(settings)', () => {
  it('returns no apps when monitoring is off', () => {
    expect(monitoringApps(loadStackSettings({ ...env, MONITORING: '' }))).to.deep.equal([]);
  });

  it('runs Prometheus on loopback with its config and data in the state dir', () => {
    const [prometheus] = monitoringApps(loadStackSettings(env));
    expect(prometheus).to.deep.include({
      name: 't2-prometheus',
      script: '/usr/bin/prometheus',
      interpreter: 'none',
      autorestart: true,
    });
    expect(prometheus?.args).to.deep.equal([
      `--config.file=${STATE}/prometheus/prometheus.yml`,
      `--storage.tsdb.path=${STATE}/prometheus/data`,
      '--storage.tsdb.retention.time=2d',
      '--web.listen-address=127.0.0.1:9700',
      '--web.enable-lifecycle',
      '--enable-feature=exemplar-storage',
    ]);
    expect(prometheus?.kill_timeout).to.be.at.least(5_000);
    expect(prometheus?.out_file).to.equal(`${STATE}/logs/t2-prometheus.log`);
  });

  it('runs mysqld-exporter on loopback with credentials from a file, not the environment', () => {
    const [, exporter] = monitoringApps(loadStackSettings(env));
    expect(exporter).to.deep.include({
      name: 't2-mysqld-exporter',
      script: '/usr/bin/prometheus-mysqld-exporter',
      interpreter: 'none',
      autorestart: true,
    });
    expect(exporter?.args).to.deep.equal([
      `--config.my-cnf=${STATE}/mysqld-exporter/my.cnf`,
      '--web.listen-address=127.0.0.1:9701',
    ]);
    expect(exporter?.env).to.deep.equal({ DATA_SOURCE_NAME: '' });
    expect(JSON.stringify(exporter)).not.to.include('p#a;s s');
  });

  it('points at binaries that are installed', () => {
    for (const app of monitoringApps(loadStackSettings(env)))
      expect(fs.existsSync(app.script), app.script).to.equal(true);
  });
});

describe('renderMysqldExporterCnf(settings)', () => {
  it('writes the exporter account backquoted, so # and ; survive, and the database address', () => {
    expect(renderMysqldExporterCnf(loadStackSettings(env))).to.equal(
      [
        '# Written by cluster/monitoring/apps.ts on every start; edit the settings, not this file.',
        '[client]',
        'user = `exp`',
        'password = `p#a;s s`',
        'host = 127.0.0.1',
        'port = 3399',
        '',
      ].join('\n'),
    );
  });

  it('throws a TypeError for a password the file cannot hold', () => {
    expect(() => renderMysqldExporterCnf(loadStackSettings({ ...env, DB_EXPORTER_PASSWORD: 'a`b' }))).to.throw(
      TypeError,
      'DB_EXPORTER_PASSWORD must not contain backquotes or line breaks.',
    );
  });
});

describe('writeMonitoringConfig(settings)', () => {
  let stateDir: string;
  beforeEach(() => {
    stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'monitoring-apps-'));
  });
  afterEach(() => fs.rmSync(stateDir, { recursive: true, force: true }));

  it('renders prometheus.yml into <stateDir>/prometheus and creates the data dir', () => {
    const settings = loadStackSettings({ ...env, STACK_DIR: stateDir });
    const file = writePrometheusConfig(settings);
    expect(file).to.equal(path.join(stateDir, 'prometheus', 'prometheus.yml'));
    expect(fs.readFileSync(file, 'utf8')).to.equal(renderPrometheusConfig(settings));
    expect(fs.statSync(path.join(stateDir, 'prometheus', 'data')).isDirectory()).to.equal(true);
  });

  it('writes my.cnf readable by its owner only, even over an existing file', () => {
    const settings = loadStackSettings({ ...env, STACK_DIR: stateDir });
    fs.mkdirSync(path.join(stateDir, 'mysqld-exporter'));
    fs.writeFileSync(path.join(stateDir, 'mysqld-exporter', 'my.cnf'), 'old', { mode: 0o644 });
    const file = writeMysqldExporterCnf(settings);
    expect(fs.statSync(file).mode & 0o777).to.equal(0o600);
    expect(fs.readFileSync(file, 'utf8')).to.equal(renderMysqldExporterCnf(settings));
  });

  it('writes both files', () => {
    writeMonitoringConfig(loadStackSettings({ ...env, STACK_DIR: stateDir }));
    expect(fs.existsSync(path.join(stateDir, 'prometheus', 'prometheus.yml'))).to.equal(true);
    expect(fs.existsSync(path.join(stateDir, 'mysqld-exporter', 'my.cnf'))).to.equal(true);
  });
});

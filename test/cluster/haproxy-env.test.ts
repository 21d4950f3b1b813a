import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { WAIT_TIMEOUT_SECONDS } from '../../cluster/database/embedded';
import {
  HAPROXY_CFG,
  haproxyArgs,
  haproxyPaths,
  renderMysqlBackend,
  renderWorkerBackend,
  writeHaproxyConfig,
} from '../../cluster/haproxy/config-files';
import { haproxyEnv } from '../../cluster/haproxy/env';
import { loadStackSettings, PROJECT_ROOT } from '../../cluster/settings';
import { systemBinary } from '../../cluster/system-packages';

describe('haproxyEnv(settings)', function () {
  it('gives the listener, stats, server address, maxconn and check user from the defaults', function () {
    expect(haproxyEnv(loadStackSettings({}))).to.deep.equal({
      HAPROXY_BIND: '127.0.0.1:5555',
      HAPROXY_STATS_BIND: '127.0.0.1:8404',
      HAPROXY_HTTP_BIND: '127.0.0.1:8080',
      // The embedded server over its socket: the passwordless check account exists only for it.
      MYSQL_ADDR: path.join(PROJECT_ROOT, '.stack', 'mariadb', 'mysqld.sock'),
      HAPROXY_SERVER_MAXCONN: '10',
      // Each listener's own limit, and the global one holding them and the runtime socket's 10.
      HAPROXY_MAXCONN: '1550',
      HAPROXY_HTTP_MAXCONN: '1500',
      HAPROXY_MYSQL_MAXCONN: '20',
      HAPROXY_STATS_MAXCONN: '20',
      HAPROXY_CHECK_USER: 'haproxy_check',
    });
  });

  it('points MYSQL_ADDR at an external MYSQL_HOST on 3306', function () {
    const external = { MYSQL_HOST: '10.0.0.5', DB_PASSWORD: 'a-secret', DB_EXPORTER_PASSWORD: 'e-secret' };
    expect(haproxyEnv(loadStackSettings(external)).MYSQL_ADDR).to.equal('10.0.0.5:3306');
  });

  it('names every variable haproxy.cfg uses, and no other', function () {
    const config = `${readFileSync(HAPROXY_CFG, 'utf8')}\n${renderMysqlBackend(loadStackSettings({}))}`.replace(
      /^\s*#.*$/gm,
      '',
    );
    const used = [...config.matchAll(/"\$\{([A-Z_]+)\}"/g)].map((m) => m[1]);
    expect([...new Set(used)].sort()).to.deep.equal(Object.keys(haproxyEnv(loadStackSettings({}))).sort());
  });

  it('rejects a check user that would break out of its quoted config word', function () {
    expect(() => haproxyEnv(loadStackSettings({ DB_CHECK_USER: 'a" b' }))).to.throw(
      'DB_CHECK_USER "a" b" may only contain letters, digits, _ . @ and -.',
    );
  });
});

describe('the rendered HAProxy files', function () {
  let stateDir: string;
  beforeEach(() => {
    stateDir = mkdtempSync(path.join(os.tmpdir(), 'kh-haproxy-cfg-'));
  });
  afterEach(() => rmSync(stateDir, { recursive: true, force: true }));

  function check(args: string[]): { status: number | null; output: string } {
    const result = spawnSync(systemBinary('haproxy'), ['-c', ...args.filter((a) => a !== '-W' && a !== '-db')], {
      env: { PATH: process.env.PATH ?? '' },
      encoding: 'utf8',
    });
    return { status: result.status, output: `${result.stdout}${result.stderr}` };
  }

  it('runs haproxy in master-worker mode in the foreground: settings first, haproxy.cfg, then the worker list and the MySQL backend', function () {
    const settings = loadStackSettings({ STACK_DIR: stateDir });
    const paths = haproxyPaths(settings);
    expect(haproxyArgs(settings)).to.deep.equal([
      '-W',
      '-db',
      '-p',
      paths.pid,
      '-f',
      paths.settings,
      '-f',
      HAPROXY_CFG,
      '-f',
      paths.workers,
      '-f',
      paths.mysql,
    ]);
  });

  it('are accepted by haproxy -c without a warning, with no variable taken from the environment', function () {
    const settings = loadStackSettings({ STACK_DIR: stateDir });
    expect(writeHaproxyConfig(settings)).to.equal(true);
    const args = haproxyArgs(settings).filter((a) => a !== '-p' && a !== haproxyPaths(settings).pid);
    expect(check(args)).to.deep.equal({ status: 0, output: 'Configuration file is valid\n' });
  });

  it('with DB_TOPOLOGY=galera: one writer and backups checked by the agent, accepted by haproxy -c without a warning', function () {
    const settings = loadStackSettings({ STACK_DIR: stateDir, DB_TOPOLOGY: 'galera' });
    writeHaproxyConfig(settings);
    expect(
      readFileSync(haproxyPaths(settings).mysql, 'utf8')
        .split('\n')
        .filter((line) => line.startsWith('    server ')),
    ).to.deep.equal([
      '    server n1 127.0.0.1:3311 maxconn 10 check addr 127.0.0.1 port 9201',
      '    server n2 127.0.0.1:3312 maxconn 10 check addr 127.0.0.1 port 9202 backup',
      '    server n3 127.0.0.1:3313 maxconn 10 check addr 127.0.0.1 port 9203 backup',
    ]);
    const args = haproxyArgs(settings).filter((a) => a !== '-p' && a !== haproxyPaths(settings).pid);
    expect(check(args)).to.deep.equal({ status: 0, output: 'Configuration file is valid\n' });
  });

  it('with external GALERA_SERVERS and no agent password: the login check as the documented fallback', function () {
    const settings = loadStackSettings({
      STACK_DIR: stateDir,
      MYSQL_HOST: 'db1',
      DB_PASSWORD: 'p',
      DB_EXPORTER_PASSWORD: 'e',
      GALERA_SERVERS: 'db1:3306,db2,10.0.0.3:3307',
    });
    writeHaproxyConfig(settings);
    const text = readFileSync(haproxyPaths(settings).mysql, 'utf8');
    expect(text.split('\n').filter((line) => /^ {4}(server|option)/.test(line))).to.deep.equal([
      '    option srvtcpka',
      '    option mysql-check user haproxy_check post-41',
      '    server n1 db1:3306 maxconn 10 check',
      '    server n2 db2:3306 maxconn 10 check backup',
      '    server n3 10.0.0.3:3307 maxconn 10 check backup',
    ]);
  });

  it('are rejected without the rendered settings (MYSQL_ADDR and the rest unset)', function () {
    const settings = loadStackSettings({ STACK_DIR: stateDir });
    writeHaproxyConfig(settings);
    expect(check(['-f', HAPROXY_CFG, '-f', haproxyPaths(settings).workers]).status).to.equal(1);
  });

  it('list one front-door server per WORKER_PORTS entry, named like its pm2 app, in both backends (ready, alive)', function () {
    const settings = loadStackSettings({ STACK_DIR: stateDir, WORKER_PORTS: '8000,8001,8002', WORKER_HOST: '0.0.0.0' });
    const servers = [
      '    server kh-worker-8000 127.0.0.1:8000 check',
      '    server kh-worker-8001 127.0.0.1:8001 check',
      '    server kh-worker-8002 127.0.0.1:8002 check',
    ];
    expect(
      renderWorkerBackend(settings)
        .split('\n')
        .filter((line) => line.startsWith('    server ') || line.startsWith('backend ')),
    ).to.deep.equal([
      'backend workers from front-door',
      ...servers,
      'backend workers-alive from front-door',
      ...servers,
    ]);
  });

  it('report a change only when the content changed', function () {
    const settings = loadStackSettings({ STACK_DIR: stateDir });
    expect(writeHaproxyConfig(settings)).to.equal(true);
    expect(writeHaproxyConfig(settings)).to.equal(false);
    expect(writeHaproxyConfig(loadStackSettings({ STACK_DIR: stateDir, WORKER_PORTS: '8000' }))).to.equal(true);
  });
});

describe('the idle timeouts of haproxy.cfg and mariadbd', function () {
  it('let HAProxy close an idle connection before MariaDB wait_timeout would', function () {
    const seconds = (name: string): number => {
      const match = new RegExp(`^\\s*timeout ${name} (\\d+)s$`, 'm').exec(readFileSync(HAPROXY_CFG, 'utf8'));
      return Number(match?.[1]);
    };
    expect([seconds('client'), seconds('server'), WAIT_TIMEOUT_SECONDS]).to.deep.equal([300, 300, 600]);
  });
});

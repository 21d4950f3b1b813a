import path from 'node:path';
import { expect } from 'chai';
import { maxconnBudget } from '../../cluster/capacity';
import { loadStackSettings, PROJECT_ROOT } from '../../cluster/settings';

describe('loadStackSettings(env)', () => {
  it('runs the embedded database on 3307 when MYSQL_HOST is unset', () => {
    const settings = loadStackSettings({});
    expect(settings.database.embedded).to.equal(true);
    expect(settings.database.port).to.equal(3307);
    expect(settings.workers.ports).to.deep.equal([8000, 8001]);
    expect(settings.haproxy.port).to.equal(5555);
    expect(settings.haproxy.serverMaxconn).to.equal(10);
    expect(settings.stateDir).to.equal(path.join(PROJECT_ROOT, '.stack'));
    expect(settings.appPrefix).to.equal('kh');
  });

  it('points at an external server on 3306 when MYSQL_HOST is set', () => {
    const settings = loadStackSettings({
      MYSQL_HOST: 'db.example',
      DB_PASSWORD: 'a-secret',
      DB_EXPORTER_PASSWORD: 'e-secret',
    });
    expect(settings.database.embedded).to.equal(false);
    expect(settings.database.host).to.equal('db.example');
    expect(settings.database.port).to.equal(3306);
  });

  it('takes any set of worker ports', () => {
    expect(loadStackSettings({ WORKER_PORTS: ' 9000, 9001,9002 ' }).workers.ports).to.deep.equal([9000, 9001, 9002]);
  });

  it('reports every problem at once', () => {
    expect(() =>
      loadStackSettings({
        WORKER_PORTS: '8000,x,8000,70000',
        HAPROXY_PORT: '0',
        MONITORING: '1',
        PROMETHEUS_PORT: 'p',
      }),
    ).to.throw(
      'Invalid stack configuration:\n' +
        '  - WORKER_PORTS must be a comma-separated list of TCP ports, got "x".\n' +
        '  - WORKER_PORTS lists port 8000 twice.\n' +
        '  - WORKER_PORTS must be a comma-separated list of TCP ports, got "70000".\n' +
        '  - HAPROXY_PORT must be a whole number from 1 to 65535, got "0".\n' +
        '  - PROMETHEUS_PORT must be a whole number from 1 to 65535, got "p".',
    );
  });

  it('refuses an empty worker list', () => {
    expect(() => loadStackSettings({ WORKER_PORTS: ' , ' })).to.throw(/WORKER_PORTS must list at least one port/);
  });

  it("refuses more pooled connections than HAProxy lets through to the server, counting a reload's overlap", () => {
    expect(() => loadStackSettings({ WORKER_PORTS: '1,2,3,4,5,6', DB_POOL_SIZE: '2' })).to.throw(
      '6 workers x DB_POOL_SIZE 2 = 12 connections, plus 4 while a reload runs old and new workers side by side, ' +
        'plus 6 for KILL QUERY side connections (one per worker) = 22, more than HAPROXY_SERVER_MAXCONN 10',
    );
    // 4 x 2 steady + 2 x 2 during a reload (pm2 reloads two apps at once) + 4 side connections = 16.
    expect(() => loadStackSettings({ WORKER_PORTS: '1,2,3,4', DB_POOL_SIZE: '2' })).to.throw(
      '= 16, more than HAPROXY_SERVER_MAXCONN 10',
    );
    expect(
      loadStackSettings({ WORKER_PORTS: '1,2,3,4', DB_POOL_SIZE: '2', HAPROXY_SERVER_MAXCONN: '16' }).workers.poolSize,
    ).to.equal(2);
    // The defaults: 2 workers x 1 + 2 during a reload + 2 side connections = 6 of 10.
    expect(loadStackSettings({}).haproxy.serverMaxconn).to.equal(10);
    expect(maxconnBudget(2, 1)).to.deep.equal({ steady: 2, reloadOverlap: 2, cancellation: 2, total: 6 });
    expect(maxconnBudget(1, 3)).to.deep.equal({ steady: 3, reloadOverlap: 3, cancellation: 1, total: 7 });
  });
});

describe('loadStackSettings(env) port clashes and flags', () => {
  it('refuses a port given to two parts of the stack', () => {
    expect(() => loadStackSettings({ HAPROXY_PORT: '8000' })).to.throw(
      'Port 8000 is given to WORKER_PORTS and HAPROXY_PORT; each part needs its own.',
    );
    expect(() => loadStackSettings({ MONITORING: '1', PROMETHEUS_PORT: '8404' })).to.throw(
      'Port 8404 is given to HAPROXY_STATS_PORT and PROMETHEUS_PORT',
    );
  });

  it('ignores the ports of parts this stack does not run', () => {
    expect(loadStackSettings({ PROMETHEUS_PORT: '8000' }).monitoring.prometheusPort).to.equal(8000);
    expect(
      loadStackSettings({ MYSQL_HOST: 'db', MYSQL_PORT: '8404', DB_PASSWORD: 'a', DB_EXPORTER_PASSWORD: 'e' }).database
        .port,
    ).to.equal(8404);
  });

  it('takes MONITORING as 1/0/true/false and refuses anything else', () => {
    expect(loadStackSettings({ MONITORING: 'true' }).monitoring.enabled).to.equal(true);
    expect(loadStackSettings({ MONITORING: '0' }).monitoring.enabled).to.equal(false);
    expect(() => loadStackSettings({ MONITORING: 'yes' })).to.throw(
      'MONITORING must be 1, 0, true or false, got "yes".',
    );
  });
});

describe("loadStackSettings(env) with the workers' settings, DB_CHECK_USER and START_TIMEOUT_MS", () => {
  it('reports problems of the stack, the workers and the check user in one error', () => {
    expect(() =>
      loadStackSettings({ WORKER_PORTS: '80a', DB_QUEUE_LIMIT: 'abc', DB_CHECK_USER: 'a b', START_TIMEOUT_MS: 'abc' }),
    ).to.throw(
      'Invalid stack configuration:\n' +
        '  - WORKER_PORTS must be a comma-separated list of TCP ports, got "80a".\n' +
        '  - START_TIMEOUT_MS must be a whole number of at least 1000, got "abc".\n' +
        '  - DB_QUEUE_LIMIT must be a whole number from 0 to 100000, got "abc".\n' +
        '  - DB_CHECK_USER "a b" may only contain letters, digits, _ . @ and -.',
    );
  });

  it('checks the worker settings pm2 passes to every worker, listing each problem once', () => {
    expect(() =>
      loadStackSettings({ DB_ACQUIRE_TIMEOUT_MS: '0', BODY_LIMIT_BYTES: '10x', DB_POOL_SIZE: '0' }),
    ).to.throw(
      'Invalid stack configuration:\n' +
        '  - DB_POOL_SIZE must be a whole number from 1 to 100, got "0".\n' +
        '  - DB_ACQUIRE_TIMEOUT_MS must be a whole number from 1 to 600000, got "0".\n' +
        '  - BODY_LIMIT_BYTES must be a whole number from 64 to 10485760, got "10x".',
    );
  });

  it('leaves PORT and HAPROXY_PORT to the stack, which gives each worker its own', () => {
    expect(loadStackSettings({ PORT: 'http' }).workers.ports).to.deep.equal([8000, 8001]);
    expect(() => loadStackSettings({ HAPROXY_PORT: 'x' })).to.throw(
      /:\n {2}- HAPROXY_PORT must be a whole number from 1 to 65535, got "x"\.$/,
    );
  });

  it('reads START_TIMEOUT_MS: 180000 by default, a whole number of ms of at least 1000', () => {
    expect(loadStackSettings({}).startTimeoutMs).to.equal(180_000);
    expect(loadStackSettings({ START_TIMEOUT_MS: '1000' }).startTimeoutMs).to.equal(1000);
    expect(() => loadStackSettings({ START_TIMEOUT_MS: '999' })).to.throw(
      'START_TIMEOUT_MS must be a whole number of at least 1000, got "999".',
    );
    expect(() => loadStackSettings({ START_TIMEOUT_MS: '1.5e3' })).to.throw(
      'START_TIMEOUT_MS must be a whole number of at least 1000, got "1.5e3".',
    );
  });
});

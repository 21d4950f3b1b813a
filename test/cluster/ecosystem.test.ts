import path from 'node:path';
import { expect } from 'chai';
import { buildApps } from '../../cluster/ecosystem';
import { loadStackSettings, PROJECT_ROOT } from '../../cluster/settings';

describe('buildApps(settings)', () => {
  it('lists the embedded database, HAProxy and one worker per port by default', () => {
    const apps = buildApps(loadStackSettings({}), {});
    expect(apps.map((app) => app.name)).to.deep.equal(['kh-mariadb', 'kh-haproxy', 'kh-worker-8000', 'kh-worker-8001']);
  });

  it('follows WORKER_PORTS without any per-port configuration', () => {
    const apps = buildApps(loadStackSettings({ WORKER_PORTS: '9100,9101,9102', STACK_NAME: 'x' }), {});
    expect(apps.filter((app) => app.name.startsWith('x-worker-')).map((app) => app.env?.PORT)).to.deep.equal(['9100', '9101', '9102']);
  });

  it('leaves the database out when MYSQL_HOST is set, and adds Prometheus and the exporter with MONITORING=1', () => {
    const apps = buildApps(loadStackSettings({ MYSQL_HOST: '10.0.0.9', MONITORING: '1' }), {});
    expect(apps.map((app) => app.name)).to.deep.equal(['kh-haproxy', 'kh-worker-8000', 'kh-worker-8001', 'kh-prometheus', 'kh-mysqld-exporter']);
    expect(apps[0]!.env?.MYSQL_ADDR).to.equal('10.0.0.9:3306');
  });

  it('runs workers from TypeScript source under tsx, waiting for their ready message', () => {
    const worker = buildApps(loadStackSettings({}), { DB_QUEUE_LIMIT: '7', UNRELATED: 'x' })[2]!;
    // A .js entry (pm2 would look for ts-node for a .ts script) that registers tsx and loads server/main.ts.
    expect(worker.script).to.equal(path.join(PROJECT_ROOT, 'cluster', 'entry', 'worker.js'));
    expect(worker.interpreter).to.equal(process.execPath);
    expect(worker.wait_ready).to.equal(true);
    expect(worker.exec_mode).to.equal('fork');
    expect(worker.env).to.deep.equal({
      DB_QUEUE_LIMIT: '7', PORT: '8000', WORKER_HOST: '127.0.0.1', WORKER_NAME: 'kh-worker-8000',
      HAPROXY_HOST: '127.0.0.1', HAPROXY_PORT: '5555', DB_USER: 'haproxy_user', DB_PASSWORD: 'tester',
    });
  });

  it('runs HAProxy in the foreground with the project config and its variables', () => {
    const haproxy = buildApps(loadStackSettings({}), {})[1]!;
    expect(haproxy.interpreter).to.equal('none');
    expect(haproxy.args).to.deep.equal(['-db', '-f', path.join(PROJECT_ROOT, 'haproxy', 'haproxy.cfg')]);
    expect(haproxy.env).to.include({ HAPROXY_BIND: '127.0.0.1:5555', MYSQL_ADDR: '127.0.0.1:3307', HAPROXY_SERVER_MAXCONN: '10' });
  });

  it('gives mariadbd time to flush before pm2 escalates to SIGKILL', () => {
    const db = buildApps(loadStackSettings({}), {})[0]!;
    expect(db.script).to.equal(path.join(PROJECT_ROOT, 'cluster', 'entry', 'db-server.js'));
    expect(db.wait_ready).to.equal(true);
    expect(db.kill_timeout).to.be.at.least(30_000);
  });
});

describe('buildApps(settings, env) with bad worker settings', () => {
  it('refuses them before anything starts, listing every problem', () => {
    expect(() => buildApps(loadStackSettings({}), { DB_ACQUIRE_TIMEOUT_MS: '0', BODY_LIMIT_BYTES: '10x' })).to.throw(
      'Invalid worker configuration:\n'
      + '  - DB_ACQUIRE_TIMEOUT_MS must be a whole number from 1 to 600000, got "0".\n'
      + '  - BODY_LIMIT_BYTES must be a whole number from 64 to 10485760, got "10x".');
  });
});

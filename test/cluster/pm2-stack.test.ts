// End to end through pm2, as a user runs it: `pm2 start ecosystem.config.js` verbatim, then `npm start`,
// `npm run status` and `npm stop`, each with an isolated PM2_HOME, its own state folder (so its own
// embedded MariaDB, initialised from scratch) and free ports. Nothing here touches a pm2 or database
// already running on the machine.
import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import mysql from 'mysql2/promise';
import { freePort } from '../../cluster/free-port';
import { request } from '../support/http';
import { startMariaDb, type MariaDbHandle } from '../support/mariadb';
import { isolatedEnv, PM2_BIN, run, TSX_BIN } from '../support/pm2-env';

async function pollTodos(url: string, deadlineMs: number): Promise<unknown> {
  const deadline = Date.now() + deadlineMs;
  for (;;) {
    try {
      const reply = await request(url, { signal: AbortSignal.timeout(2000) });
      if (reply.status === 200) return reply.body;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`${url} did not answer 200 within ${deadlineMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 300));
  }
}

async function pollStatus(url: string, wanted: number, deadlineMs: number): Promise<number> {
  const deadline = Date.now() + deadlineMs;
  let status = 0;
  while (Date.now() < deadline) {
    status = await request(url, { signal: AbortSignal.timeout(5000) }).then(
      (reply) => reply.status,
      () => 0,
    );
    if (status === wanted) break;
    await new Promise((resolve) => setTimeout(resolve, 300));
  }
  return status;
}

function mariadbdRunningOn(datadirPart: string): boolean {
  for (const pid of fs.readdirSync('/proc').filter((entry) => /^\d+$/.test(entry))) {
    try {
      const cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      if (cmdline.includes('mariadbd') && cmdline.includes(datadirPart)) return true;
    } catch {
      // the process ended while we looked
    }
  }
  return false;
}

// An external MYSQL_HOST runs on no default password: the stack refuses to start without these.
const EXTERNAL_PASSWORDS = { DB_PASSWORD: 'ext-app-secret', DB_EXPORTER_PASSWORD: 'ext-exporter-secret' };

const SEEDED = { 1: { item: 'task1', status: 'pending' }, 2: { item: 'task2', status: 'done' } };

describe('the stack under pm2', function () {
  this.timeout(240_000);

  describe('pm2 start ecosystem.config.js', () => {
    let env: NodeJS.ProcessEnv;
    let ports: number[];
    let home: string;

    before(async () => {
      ({ env, ports, home } = await isolatedEnv('e2e'));
    });

    after(async () => {
      await run([PM2_BIN, 'kill'], env, 60_000);
      fs.rmSync(home, { recursive: true, force: true });
    });

    it('starts the embedded database, HAProxy and one worker per port, and both ports serve the seeded todos', async () => {
      const started = await run([PM2_BIN, 'start', 'ecosystem.config.js'], env);
      expect(started.code, started.output).to.equal(0);
      for (const port of ports) {
        expect(await pollTodos(`http://127.0.0.1:${port}/todos`, 120_000)).to.deep.equal(SEEDED);
      }
      const list = await run([PM2_BIN, 'jlist'], env);
      const apps = (
        JSON.parse(list.output.trim().split('\n').pop()!) as { name: string; pm2_env: { status: string } }[]
      )
        .map((app) => `${app.name}:${app.pm2_env.status}`)
        .sort();
      expect(apps).to.deep.equal(
        [
          'e2e-haproxy:online',
          'e2e-mariadb:online',
          `e2e-worker-${ports[0]}:online`,
          `e2e-worker-${ports[1]}:online`,
        ].sort(),
      );
    });

    it('restarts a worker that crashed, and it serves again', async () => {
      const jlist = async () =>
        JSON.parse((await run([PM2_BIN, 'jlist'], env)).output.trim().split('\n').pop()!) as {
          name: string;
          pid: number;
          pm2_env: { status: string; restart_time: number };
        }[];
      const name = `e2e-worker-${ports[0]}`;
      const before = (await jlist()).find((app) => app.name === name)!;
      process.kill(before.pid, 'SIGKILL');
      const deadline = Date.now() + 30_000;
      let after = before;
      while (Date.now() < deadline) {
        after = (await jlist()).find((app) => app.name === name)!;
        if (after.pid !== before.pid && after.pm2_env.status === 'online') break;
        await new Promise((resolve) => setTimeout(resolve, 300));
      }
      expect(after.pm2_env.restart_time).to.equal(before.pm2_env.restart_time + 1);
      expect(await pollTodos(`http://127.0.0.1:${ports[0]}/todos`, 20_000)).to.deep.equal(SEEDED);
    });

    it('restarts the embedded database when mariadbd dies, and the workers recover', async () => {
      const pidFile = path.join(env.STACK_DIR!, 'mariadb', 'mysqld.pid');
      const pid = Number(fs.readFileSync(pidFile, 'utf8').trim());
      process.kill(pid, 'SIGKILL');
      // The wrapper exits with mariadbd, pm2 starts both again; the workers reconnect on their own.
      await new Promise((resolve) => setTimeout(resolve, 500));
      for (const port of ports) {
        expect(await pollTodos(`http://127.0.0.1:${port}/todos`, 60_000)).to.deep.equal(SEEDED);
      }
      expect(Number(fs.readFileSync(pidFile, 'utf8').trim())).to.not.equal(pid);
    });

    it('stops mariadbd cleanly when pm2 stops the stack (SIGINT is turned into SIGTERM)', async () => {
      const stopped = await run([PM2_BIN, 'delete', 'all'], env, 90_000);
      expect(stopped.code, stopped.output).to.equal(0);
      expect(mariadbdRunningOn(env.STACK_DIR!)).to.equal(false);
      const log = fs.readFileSync(path.join(env.STACK_DIR!, 'logs', 'e2e-mariadb.log'), 'utf8');
      expect(log).to.match(/Shutdown complete/);
    });
  });

  describe('npm start / npm run status / npm stop', () => {
    let env: NodeJS.ProcessEnv;
    let ports: number[];
    let home: string;

    before(async () => {
      ({ env, ports, home } = await isolatedEnv('npmstart'));
    });

    after(async () => {
      await run([PM2_BIN, 'kill'], env, 60_000);
      fs.rmSync(home, { recursive: true, force: true });
    });

    it('npm start waits until every worker is ready, prints the table and exits 0', async () => {
      const started = await run([TSX_BIN, 'cluster/cli/start.ts'], env);
      expect(started.code, started.output).to.equal(0);
      for (const port of ports) {
        expect(started.output).to.match(
          new RegExp(
            `npmstart-worker-${port} +online .* ready +0/1 used, 1 idle, 0 pending +UP, \\d+ sess, 0 queued +http://127\\.0\\.0\\.1:${port}`,
          ),
        );
      }
      expect(await pollTodos(`http://127.0.0.1:${ports[1]}/todos`, 5_000)).to.deep.equal(SEEDED);
    });

    it('npm start on a running stack says so and leaves it running', async () => {
      const again = await run([TSX_BIN, 'cluster/cli/start.ts'], env);
      expect(again.code, again.output).to.equal(0);
      expect(again.output).to.contain('The stack is already running');
    });

    it('npm run status exits 0 and shows readiness and pool state per worker', async () => {
      const status = await run([TSX_BIN, 'cluster/cli/status.ts'], env);
      expect(status.code, status.output).to.equal(0);
      expect(status.output).to.match(/npmstart-mariadb +online/);
      expect(status.output).to.match(/npmstart-haproxy +online/);
    });

    it('npm stop removes the apps, after which status exits 1', async () => {
      const stopped = await run([TSX_BIN, 'cluster/cli/stop.ts'], env, 90_000);
      expect(stopped.code, stopped.output).to.equal(0);
      expect(stopped.output).to.match(/^Stopped: /m);
      const status = await run([TSX_BIN, 'cluster/cli/status.ts'], env);
      expect(status.code).to.equal(1);
      expect(status.output).to.match(/npmstart-worker-\d+ +not running/);
      expect(mariadbdRunningOn(env.STACK_DIR!)).to.equal(false);
    });
  });

  describe('with MYSQL_HOST set (an external database)', () => {
    let env: NodeJS.ProcessEnv;
    let ports: number[];
    let home: string;
    let external: MariaDbHandle;

    before(async () => {
      external = await startMariaDb();
      // An external server has an admin that logs in over TCP with a password (this one's root does not).
      const admin = await mysql.createConnection(external.admin);
      await admin.query("CREATE USER ext_admin@'%' IDENTIFIED BY 'ext-admin-secret'");
      await admin.query("GRANT ALL PRIVILEGES ON *.* TO ext_admin@'%' WITH GRANT OPTION");
      await admin.end();
      ({ env, ports, home } = await isolatedEnv('ext'));
      Object.assign(env, {
        MYSQL_HOST: '127.0.0.1',
        MYSQL_PORT: String(external.port),
        MYSQL_ADMIN_USER: 'ext_admin',
        MYSQL_ADMIN_PASSWORD: 'ext-admin-secret',
        ...EXTERNAL_PASSWORDS,
      });
    });

    after(async () => {
      await run([PM2_BIN, 'kill'], env, 60_000);
      await external.stop();
      fs.rmSync(home, { recursive: true, force: true });
    });

    it('npm run db:migrate applies the migrations to it', async () => {
      const migrated = await run([TSX_BIN, 'cluster/cli/migrate.ts'], env);
      expect(migrated.code, migrated.output).to.equal(0);
      expect(migrated.output).to.contain('V001__create_todos.sql');
    });

    it('npm start runs no embedded MariaDB and the workers reach it through HAProxy', async () => {
      const started = await run([TSX_BIN, 'cluster/cli/start.ts'], env);
      expect(started.code, started.output).to.equal(0);
      expect(started.output).not.to.contain('ext-mariadb');
      expect(started.output).to.match(new RegExp(`ext-haproxy +online`));
      for (const port of ports) {
        expect(await pollTodos(`http://127.0.0.1:${port}/todos`, 5_000)).to.deep.equal(SEEDED);
      }
      expect(fs.existsSync(path.join(env.STACK_DIR!, 'mariadb'))).to.equal(false);
    });
  });

  describe('MONITORING=1 npm start', () => {
    let env: NodeJS.ProcessEnv;
    let home: string;

    before(async () => {
      ({ env, home } = await isolatedEnv('mon'));
      Object.assign(env, {
        MONITORING: '1',
        PROMETHEUS_PORT: String(await freePort()),
        MYSQLD_EXPORTER_PORT: String(await freePort()),
      });
    });

    after(async () => {
      await run([PM2_BIN, 'kill'], env, 60_000);
      fs.rmSync(home, { recursive: true, force: true });
    });

    it('also runs Prometheus, whose every target (workers, HAProxy, mysqld-exporter, itself) is up', async () => {
      const started = await run([TSX_BIN, 'cluster/cli/start.ts'], env);
      expect(started.code, started.output).to.equal(0);
      expect(started.output).to.match(/mon-prometheus +online/);
      expect(started.output).to.match(/mon-mysqld-exporter +online/);
      const api = `http://127.0.0.1:${env.PROMETHEUS_PORT}/api/v1/targets`;
      const deadline = Date.now() + 60_000;
      let health: string[] = [];
      while (Date.now() < deadline) {
        try {
          const reply = await request(api, { signal: AbortSignal.timeout(2000) });
          const targets = (reply.body as { data: { activeTargets: { labels: { job: string }; health: string }[] } })
            .data.activeTargets;
          health = targets.map((t) => `${t.labels.job}:${t.health}`).sort();
          if (health.length === 5 && health.every((h) => h.endsWith(':up'))) break;
        } catch {
          // Prometheus not listening yet
        }
        await new Promise((resolve) => setTimeout(resolve, 1000));
      }
      expect(health).to.deep.equal(['haproxy:up', 'mysqld:up', 'prometheus:up', 'workers:up', 'workers:up']);
    });
  });

  describe('npm stop while the workers still wait for their database', () => {
    let env: NodeJS.ProcessEnv;
    let home: string;

    before(async () => {
      ({ env, home } = await isolatedEnv('waiting'));
      // An external database nobody listens on: the workers start, listen, and keep retrying.
      Object.assign(env, { MYSQL_HOST: '127.0.0.1', MYSQL_PORT: String(await freePort()), ...EXTERNAL_PASSWORDS });
    });

    after(async () => {
      await run([PM2_BIN, 'kill'], env, 60_000);
      fs.rmSync(home, { recursive: true, force: true });
    });

    it('stops them for good: pm2 does not restart them and no worker process is left', async () => {
      // pm2 start blocks until the workers are ready or their listen_timeout passes: do not wait for it.
      const starting = run([PM2_BIN, 'start', 'ecosystem.config.js'], env);
      const ports = env.WORKER_PORTS!.split(',').map(Number);
      for (const port of ports) {
        expect(await pollStatus(`http://127.0.0.1:${port}/readyz`, 503, 20_000)).to.equal(503);
      }
      const stopped = await run([TSX_BIN, 'cluster/cli/stop.ts'], env, 60_000);
      expect(stopped.code, stopped.output).to.equal(0);
      await starting;
      await new Promise((resolve) => setTimeout(resolve, 2_000));
      const list = await run([PM2_BIN, 'jlist'], env);
      expect(list.output.trim().split('\n').pop()).to.equal('[]');
      for (const port of ports) {
        const answer = await request(`http://127.0.0.1:${port}/healthz`).then(
          () => 'answered',
          () => 'refused',
        );
        expect(answer, `a worker still listens on ${port}`).to.equal('refused');
      }
    });
  });

  describe('bad settings and a start that cannot finish', () => {
    let env: NodeJS.ProcessEnv;
    let home: string;

    before(async () => {
      ({ env, home } = await isolatedEnv('deadline'));
    });

    after(async () => {
      await run([PM2_BIN, 'kill'], env, 60_000);
      fs.rmSync(home, { recursive: true, force: true });
    });

    it('pm2 start ecosystem.config.js with bad values prints every problem alone, not pm2\'s "malformated" and a stack trace', async () => {
      const started = await run([PM2_BIN, 'start', 'ecosystem.config.js'], {
        ...env,
        WORKER_PORTS: '80a',
        DB_QUEUE_LIMIT: 'abc',
      });
      expect(started.code, started.output).to.not.equal(0);
      expect(started.output).to.contain('WORKER_PORTS must be a comma-separated list of TCP ports, got "80a".');
      expect(started.output).to.contain('DB_QUEUE_LIMIT');
      expect(started.output).to.not.contain('malformated');
      expect(started.output).to.not.match(/^\s+at /m);
    });

    it("npm start gives up after START_TIMEOUT_MS, not behind pm2's own 60 s ready wait", async () => {
      // An external database nobody listens on: the workers start but never become ready.
      const unreachable = {
        MYSQL_HOST: '127.0.0.1',
        MYSQL_PORT: String(await freePort()),
        START_TIMEOUT_MS: '5000',
        ...EXTERNAL_PASSWORDS,
      };
      const started = performance.now();
      const result = await run([TSX_BIN, 'cluster/cli/start.ts'], { ...env, ...unreachable });
      const seconds = (performance.now() - started) / 1000;
      expect(result.code, result.output).to.equal(1);
      expect(result.output).to.contain('did not come up within 5s');
      expect(seconds).to.be.below(20);
    });
  });

  describe('npm start when another process holds a worker port', () => {
    let env: NodeJS.ProcessEnv;
    let home: string;
    let blocker: import('node:net').Server;

    before(async () => {
      ({ env, home } = await isolatedEnv('broken'));
      // Another program listens on the second worker's port.
      const net = await import('node:net');
      blocker = net.createServer();
      const port = Number(env.WORKER_PORTS!.split(',')[1]);
      await new Promise<void>((resolve) => blocker.listen(port, '127.0.0.1', () => resolve()));
    });

    after(async () => {
      await run([PM2_BIN, 'kill'], env, 60_000);
      blocker.close();
      fs.rmSync(home, { recursive: true, force: true });
    });

    it('exits 1 naming the port, its setting and the process holding it, and starts nothing', async () => {
      const started = await run([TSX_BIN, 'cluster/cli/start.ts'], env);
      const port = env.WORKER_PORTS!.split(',')[1];
      expect(started.code, started.output).to.equal(1);
      expect(started.output).to.contain('Nothing was started');
      expect(started.output).to.contain(
        `Port ${port} (WORKER_PORTS, for broken-worker-${port}) is already in use by node (pid ${process.pid})`,
      );
      // Nothing is left crash-looping under pm2.
      const list = await run([PM2_BIN, 'jlist'], env);
      expect(list.output.trim().split('\n').pop()).to.equal('[]');
    });
  });
});

// Operating the tier as its users do, on one stack started with `npm start` (isolated PM2_HOME, state
// folder and ports): rolling reloads under load, the HTTP front door riding out a killed worker and a
// reload, settings applied to a running stack, scaling by WORKER_PORTS, and the status at a glance.
// Load comes from autocannon on loopback, bounded in connections and seconds.
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import autocannon from 'autocannon';
import { expect } from 'chai';
import { parseStatsCsv } from '../../cluster/haproxy/stats';
import { freePort } from '../../cluster/free-port';
import { request } from '../support/http';
import { isolatedEnv, jlist, PM2_BIN, run, TSX_BIN, type Pm2App } from '../support/pm2-env';

interface LoadResult {
  url: string;
  requests: number;
  non2xx: number;
  errors: number;
  timeouts: number;
}

/** Keep-alive GET load on each URL at once, `connections` each, for `seconds`. */
async function load(urls: string[], connections: number, seconds: number): Promise<LoadResult[]> {
  const results = await Promise.all(urls.map((url) => autocannon({ url, connections, duration: seconds })));
  return results.map((r, i) => ({
    url: urls[i]!,
    requests: r.requests.total,
    non2xx: r.non2xx,
    errors: r.errors,
    timeouts: r.timeouts,
  }));
}

function expectNoFailure(results: LoadResult[]): void {
  for (const result of results) {
    // The counts, for whoever reads the test log (the closing notes quote them).
    console.log(
      `      load ${result.url}: ${result.requests} requests, ${result.non2xx} non-2xx, ${result.errors} errors, ${result.timeouts} timeouts`,
    );
    expect(result.requests, `${result.url} served next to nothing`).to.be.above(500);
    expect(
      { non2xx: result.non2xx, errors: result.errors, timeouts: result.timeouts },
      JSON.stringify(result),
    ).to.deep.equal({ non2xx: 0, errors: 0, timeouts: 0 });
  }
}

describe('operating the tier under pm2', function () {
  this.timeout(240_000);
  let env: NodeJS.ProcessEnv;
  let ports: number[];
  let home: string;
  const app = (apps: Pm2App[], name: string) => apps.find((a) => a.name === name)!;
  const worker = (port: number) => `ops-worker-${port}`;
  const frontDoor = (pathname: string) => `http://127.0.0.1:${env.HTTP_PORT}${pathname}`;
  const haproxyLog = () => fs.readFileSync(path.join(env.STACK_DIR!, 'logs', 'ops-haproxy.log'), 'utf8');
  const frontDoorServers = async () =>
    parseStatsCsv((await request(`http://127.0.0.1:${env.HAPROXY_STATS_PORT}/stats;csv`)).text)
      .filter((s) => s.proxy === 'workers')
      .map((s) => `${s.server}:${s.status}`);
  const start = (extra: NodeJS.ProcessEnv = {}) => run([TSX_BIN, 'cluster/cli/start.ts'], { ...env, ...extra });

  before(async () => {
    ({ env, ports, home } = await isolatedEnv('ops'));
    env.START_TIMEOUT_MS = '60000';
    const started = await start();
    expect(started.code, started.output).to.equal(0);
  });

  after(async () => {
    await run([PM2_BIN, 'kill'], env, 60_000);
    fs.rmSync(home, { recursive: true, force: true });
  });

  it('pm2 reload ecosystem.config.js under 20 s of load at 50 connections over both worker ports: all 2xx, no socket error, the database untouched', async () => {
    const before = await jlist(env);
    const reloadsBefore = haproxyLog().split('Former worker').length;
    const loads = load(
      ports.map((port) => `http://127.0.0.1:${port}/todos`),
      25,
      20,
    );
    await sleep(4_000);
    const reload = await run([PM2_BIN, 'reload', 'ecosystem.config.js'], env);
    expect(reload.code, reload.output).to.equal(0);
    const results = await loads;
    expectNoFailure(results);

    const after = await jlist(env);
    // Every worker was replaced by a new process...
    for (const port of ports) expect(app(after, worker(port)).pid).to.not.equal(app(before, worker(port)).pid);
    // ...while MariaDB kept running and HAProxy reloaded in place (same master, a new worker process).
    expect(app(after, 'ops-mariadb').pid).to.equal(app(before, 'ops-mariadb').pid);
    expect(app(after, 'ops-mariadb').pm2_env.restart_time).to.equal(app(before, 'ops-mariadb').pm2_env.restart_time);
    expect(app(after, 'ops-haproxy').pid).to.equal(app(before, 'ops-haproxy').pid);
    await sleep(200);
    expect(haproxyLog().split('Former worker').length).to.be.above(reloadsBefore);
  });

  it('the front door keeps every request answered while a worker is SIGKILLed, and pm2 brings the worker back', async () => {
    const victim = app(await jlist(env), worker(ports[0]!));
    const loads = load([frontDoor('/todos')], 20, 10);
    await sleep(3_000);
    process.kill(victim.pid, 'SIGKILL');
    expectNoFailure(await loads);
    const back = app(await jlist(env), worker(ports[0]!));
    expect(back.pid).to.not.equal(victim.pid);
    expect(back.pm2_env.status).to.equal('online');
    // HAProxy retried the requests the killed worker could not take on the other worker.
    expect(haproxyLog()).to.match(/"retries":"\+\d"/);
  });

  it('the front door keeps every request answered while npm run reload replaces the whole tier', async () => {
    const loads = load([frontDoor('/todos')], 20, 12);
    await sleep(3_000);
    const reload = await run([TSX_BIN, 'cluster/cli/reload.ts'], env);
    expect(reload.code, reload.output).to.equal(0);
    expect(reload.output).to.match(/Reloaded in \d+\.\ds/);
    expectNoFailure(await loads);
  });

  it("the front door passes a valid X-Request-Id through, sets one otherwise, and its log and the worker's carry it", async () => {
    const given = await request(frontDoor('/todos/1'), { headers: { 'X-Request-Id': 'ops-trace-42' } });
    expect(given.status).to.equal(200);
    expect(given.headers.get('x-request-id')).to.equal('ops-trace-42');
    const invalid = await request(frontDoor('/todos/1'), { headers: { 'X-Request-Id': 'no spaces allowed' } });
    const generated = invalid.headers.get('x-request-id')!;
    expect(generated).to.match(/^[0-9a-f-]{36}$/);
    await sleep(300);
    const logs = fs
      .readdirSync(path.join(env.STACK_DIR!, 'logs'))
      .map((f) => fs.readFileSync(path.join(env.STACK_DIR!, 'logs', f), 'utf8'))
      .join('\n');
    for (const id of ['ops-trace-42', generated]) {
      expect(logs).to.contain(`"proxy":"front-door","requestId":"${id}"`);
      expect(logs).to.match(new RegExp(`"msg":"request".*"requestId":"${id}"`));
    }
  });

  it('npm start with a changed worker setting applies it by a rolling reload, leaving the database running', async () => {
    const before = await jlist(env);
    expect((await request(`http://127.0.0.1:${ports[0]}/sleep/6`)).status).to.equal(200);
    const applied = await start({ SLEEP_MAX_SECONDS: '5' });
    expect(applied.code, applied.output).to.equal(0);
    expect(applied.output).to.contain(`${worker(ports[0]!)} (SLEEP_MAX_SECONDS)`);
    for (const url of [...ports.map((port) => `http://127.0.0.1:${port}`), frontDoor('')]) {
      expect((await request(`${url}/sleep/6`)).status).to.equal(400);
    }
    expect(app(await jlist(env), 'ops-mariadb').pid).to.equal(app(before, 'ops-mariadb').pid);
    // Unset again: back to the default of 60 s.
    expect((await start()).code).to.equal(0);
    expect(
      (
        await request(`http://127.0.0.1:${ports[1]}/sleep/6`, { signal: AbortSignal.timeout(1000) }).catch(() => ({
          status: 'slow',
        }))
      ).status,
    ).to.equal('slow');
  });

  it('WORKER_PORTS with a third port: npm start adds its worker without touching the other two, and the front door and status list it', async () => {
    const third = await freePort();
    const before = await jlist(env);
    const scaled = await start({ WORKER_PORTS: [...ports, third].join(',') });
    expect(scaled.code, scaled.output).to.equal(0);
    expect(scaled.output).to.contain(`Starting: ${worker(third)}.`);
    const after = await jlist(env);
    for (const name of [...ports.map(worker), 'ops-mariadb', 'ops-haproxy'])
      expect(app(after, name).pid).to.equal(app(before, name).pid);
    expect((await request(`http://127.0.0.1:${third}/todos/1`)).status).to.equal(200);
    expect(await frontDoorServers()).to.deep.equal([...ports, third].map((port) => `${worker(port)}:UP`));
    const status = await run([TSX_BIN, 'cluster/cli/status.ts', '--json'], {
      ...env,
      WORKER_PORTS: [...ports, third].join(','),
    });
    expect(status.code, status.output).to.equal(0);
    const rows = JSON.parse(status.output) as {
      name: string;
      ready: boolean | null;
      haproxy: { status: string } | null;
    }[];
    expect(
      rows.filter((r) => r.name.startsWith('ops-worker-')).map((r) => `${r.name}:${r.ready}:${r.haproxy?.status}`),
    ).to.deep.equal([...ports, third].map((port) => `${worker(port)}:true:UP`));

    // Without it again: the third worker is drained and removed, and the front door forgets it.
    const shrunk = await start();
    expect(shrunk.code, shrunk.output).to.equal(0);
    expect(shrunk.output).to.contain(`Draining and removing apps the settings no longer list: ${worker(third)}.`);
    expect((await jlist(env)).map((a) => a.name)).to.not.include(worker(third));
    expect(await frontDoorServers()).to.deep.equal(ports.map((port) => `${worker(port)}:UP`));
  });

  it('MONITORING=1 npm start adds Prometheus and the exporter without restarting anything, scraping every worker', async () => {
    const before = await jlist(env);
    const monitoring = {
      MONITORING: '1',
      PROMETHEUS_PORT: String(await freePort()),
      MYSQLD_EXPORTER_PORT: String(await freePort()),
    };
    const started = await start(monitoring);
    expect(started.code, started.output).to.equal(0);
    const after = await jlist(env);
    for (const proc of before) expect(app(after, proc.name).pid, proc.name).to.equal(proc.pid);
    expect(after.map((a) => a.name)).to.include.members(['ops-prometheus', 'ops-mysqld-exporter']);
    const scrape = fs.readFileSync(path.join(env.STACK_DIR!, 'prometheus', 'prometheus.yml'), 'utf8');
    for (const port of ports) expect(scrape).to.contain(`"127.0.0.1:${port}"`);
    // Off again: only the monitoring apps go.
    const stopped = await start();
    expect(stopped.code, stopped.output).to.equal(0);
    expect((await jlist(env)).map((a) => a.name).sort()).to.deep.equal(before.map((a) => a.name).sort());
  });

  it('npm run restart-db restarts MariaDB, says it is an outage, and reports when every worker is ready again', async () => {
    const before = app(await jlist(env), 'ops-mariadb');
    const restarted = await run([TSX_BIN, 'cluster/cli/restart-db.ts'], env);
    expect(restarted.code, restarted.output).to.equal(0);
    expect(restarted.output).to.contain('database requests fail with 503 database_unavailable until it is back');
    expect(restarted.output).to.match(/every worker is ready again after \d+\.\ds/);
    expect(app(await jlist(env), 'ops-mariadb').pid).to.not.equal(before.pid);
    for (const port of ports) expect((await request(`http://127.0.0.1:${port}/todos/1`)).status).to.equal(200);
  });
});

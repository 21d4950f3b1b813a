// A real Prometheus (Debian's), started with the project's own rendered config and rules against a real
// test stack (2 workers, HAProxy, MariaDB, mysqld-exporter): every target is up, the per-worker pool
// series arrive, and every recording rule returns data. The dashboard's panels need the front door with its
// workers (which this stack leaves out) and a Galera cluster: dashboard-live.test.ts checks them.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { monitoringApps, writeMonitoringConfig } from '../../cluster/monitoring/apps';
import type { StackSettings } from '../../cluster/settings';
import { recordingRuleNames } from '../../monitoring/rules';
import { freePort } from '../../cluster/free-port';
import { request } from '../support/http';
import { exited, killOnExit } from '../support/processes';
import { sharedStack, type TestStack } from '../support/stack';

interface PromVector {
  status: string;
  data: { result: { metric: Record<string, string>; value: [number, string] }[] };
}

describe('monitoring against a live Prometheus', function () {
  this.timeout(180_000);
  let stack: TestStack;
  let settings: StackSettings;
  let children: ChildProcess[] = [];
  let promUrl: string;
  let traffic: NodeJS.Timeout | undefined;

  async function query(expr: string): Promise<PromVector['data']['result']> {
    const reply = await request(`${promUrl}/api/v1/query?query=${encodeURIComponent(expr)}`);
    const body = reply.body as PromVector;
    expect(body.status, `${expr}: ${reply.text}`).to.equal('success');
    return body.data.result;
  }

  /** Polls until the query returns at least one series (Prometheus scrapes and evaluates every 5 s). */
  async function eventually(expr: string, timeoutMs = 60_000): Promise<PromVector['data']['result']> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const result = await query(expr);
      if (result.length > 0 || Date.now() > deadline) return result;
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
  }

  before(async () => {
    stack = await sharedStack();
    settings = {
      ...stack.settings,
      monitoring: {
        ...stack.settings.monitoring,
        enabled: true,
        prometheusPort: await freePort(),
        exporterPort: await freePort(),
      },
    };
    writeMonitoringConfig(settings);
    fs.mkdirSync(path.join(settings.stateDir, 'logs'), { recursive: true });
    for (const app of monitoringApps(settings)) {
      const log = fs.openSync(app.out_file, 'a');
      const child = spawn(app.script, app.args, { env: { ...process.env, ...app.env }, stdio: ['ignore', log, log] });
      killOnExit(child);
      children.push(child);
    }
    promUrl = `http://127.0.0.1:${settings.monitoring.prometheusPort}`;
    const readyBy = Date.now() + 30_000;
    for (;;) {
      const ready = await request(`${promUrl}/-/ready`).catch(() => undefined);
      if (ready?.status === 200) break;
      if (Date.now() > readyBy) {
        const log = fs.readFileSync(
          path.join(settings.stateDir, 'logs', `${settings.appPrefix}-prometheus.log`),
          'utf8',
        );
        throw new Error(`Prometheus did not become ready:\n${log.slice(-3000)}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 300));
    }
    // Steady light traffic on both workers so rates and latency quantiles have samples in every window.
    const hit = () => {
      for (const worker of stack.workers) {
        void request(`${worker.url}/todos`).catch(() => undefined);
        void request(`${worker.url}/sleep/0.05`).catch(() => undefined);
        void request(`${worker.url}/no-such-route`).catch(() => undefined);
      }
    };
    hit();
    traffic = setInterval(hit, 500);
  });

  after(async () => {
    clearInterval(traffic);
    for (const child of children) child.kill('SIGTERM');
    await Promise.all(children.map((child) => exited(child)));
    children = [];
  });

  it('scrapes every target with up == 1', async () => {
    const expected = ['haproxy', 'mysqld', 'prometheus', 'workers'];
    const deadline = Date.now() + 60_000;
    let up: PromVector['data']['result'] = [];
    while (Date.now() < deadline) {
      up = await query('up');
      if (up.length === expected.length + 1 && up.every((series) => series.value[1] === '1')) break;
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
    const summary = up.map((series) => `${series.metric.job}:${series.metric.instance}=${series.value[1]}`).sort();
    expect(summary).to.deep.equal(
      [
        `haproxy:127.0.0.1:${settings.haproxy.statsPort}=1`,
        `mysqld:127.0.0.1:${settings.monitoring.exporterPort}=1`,
        `prometheus:127.0.0.1:${settings.monitoring.prometheusPort}=1`,
        ...stack.workers.map((worker) => `workers:127.0.0.1:${worker.port}=1`),
      ].sort(),
    );
  });

  it('holds the pool series of every worker, labelled by worker', async () => {
    const result = await eventually('db_pool_connections_max');
    const byWorker = Object.fromEntries(result.map((series) => [series.metric.worker, series.value[1]]));
    expect(byWorker).to.deep.equal(Object.fromEntries(stack.workers.map((w) => [`test-worker-${w.port}`, '1'])));
    const states = await eventually('db_pool_connections');
    expect(states.map((s) => `${s.metric.worker}/${s.metric.state}`).sort()).to.deep.equal(
      stack.workers.flatMap((w) => [`test-worker-${w.port}/idle`, `test-worker-${w.port}/used`]).sort(),
    );
  });

  it("sees HAProxy's MySQL server UP and its session limit", async () => {
    const status = await eventually('haproxy_server_status{proxy="mysql",server="mysql1",state="UP"} == 1');
    expect(status).to.have.length(1);
    const limit = await eventually('haproxy_server_limit_sessions{proxy="mysql",server="mysql1"}');
    expect(limit[0]?.value[1]).to.equal(String(settings.haproxy.serverMaxconn));
  });

  it('returns data for every recording rule', async () => {
    const names = recordingRuleNames();
    expect(names.length).to.be.greaterThan(0);
    const empty: string[] = [];
    for (const name of names) {
      if ((await eventually(name, 45_000)).length === 0) empty.push(name);
    }
    expect(empty, 'recording rules with no data').to.deep.equal([]);
  });

  it('returns data for every PromQL query docs/monitoring.md shows', async () => {
    const readme = fs.readFileSync(path.join(__dirname, '../../docs/monitoring.md'), 'utf8');
    const blocks = [...readme.matchAll(/```promql\n([\s\S]*?)```/g)].map((match) => match[1]!);
    // Queries are separated by comment lines; a query may span several lines.
    const queries = blocks.flatMap((block) =>
      block
        .split(/^#.*$/m)
        .map((q) => q.trim())
        .filter((q) => q !== ''),
    );
    expect(queries).to.have.length(3);
    for (const expr of queries) expect(await eventually(expr, 30_000), expr).to.have.length.above(0);
  });
});

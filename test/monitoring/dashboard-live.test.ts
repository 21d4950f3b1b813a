// The Grafana dashboard against the stack a user runs: `MONITORING=1 npm start` (isolated pm2, free ports,
// the front door with its workers, mysqld-exporter, Prometheus with exemplar storage), under light steady
// traffic through the front door. Every panel query returns data; a family a worker exports without a
// panel fails; Prometheus keeps exemplars whose request ids are ones clients received; app_info names the
// commit. Then the same stack on a three-node Galera cluster (DB_TOPOLOGY=galera), where the Galera
// panels, empty on a standalone server, must return data too.
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { freeGaleraBasePorts } from '../../cluster/database/galera/free-base-ports';
import { renderAgentMetrics } from '../../cluster/database/galera/health-agent';
import { freePort } from '../../cluster/free-port';
import { PROJECT_ROOT } from '../../cluster/settings';
import {
  dashboardQueries,
  exposedFamilies,
  familiesWithoutPanel,
  namesIn,
  type DashboardQuery,
} from '../../monitoring/dashboard-queries';
import { request } from '../support/http';
import { isolatedEnv, PM2_BIN, run, TSX_BIN } from '../support/pm2-env';
import { waitFor } from '../support/wait';

const DASHBOARD = JSON.parse(
  fs.readFileSync(path.join(PROJECT_ROOT, 'monitoring', 'grafana', 'dashboard.json'), 'utf8'),
) as { panels: { title: string; targets?: { expr: string; exemplar?: boolean }[] }[] };
const QUERIES = dashboardQueries(DASHBOARD);

/**
 * Families only a Galera node (mysqld-exporter's wsrep_* status beyond the few a standalone MariaDB
 * reports) or the Galera health agent (job="galera", every galera_* family) exports.
 */
const GALERA_ONLY_WSREP = [
  'mysql_global_status_wsrep_local_state',
  'mysql_global_status_wsrep_flow_control_paused',
  'mysql_global_status_wsrep_local_recv_queue',
  'mysql_global_status_wsrep_local_send_queue',
  'mysql_global_status_wsrep_local_cert_failures',
];
const namesGaleraOnly = (query: DashboardQuery): boolean =>
  [...namesIn(query.expr)].some((name) => name.startsWith('galera_') || GALERA_ONLY_WSREP.includes(name));

interface PromResult {
  status: string;
  error?: string;
  data: { result: { metric: Record<string, string>; value: [number, string] }[] };
}
interface ExemplarResult {
  status: string;
  data: { seriesLabels: Record<string, string>; exemplars: { labels: Record<string, string>; value: string }[] }[];
}

interface MonitoredStack {
  env: NodeJS.ProcessEnv;
  home: string;
  promUrl: string;
  frontDoor: string;
  workerUrls: string[];
  /** Every X-Request-Id a client of the stack received so far. */
  receivedIds: Set<string>;
  stopTraffic(): void;
}

async function startMonitoredStack(name: string, extraEnv: (env: NodeJS.ProcessEnv) => Promise<void>) {
  const { env, home, ports } = await isolatedEnv(name);
  Object.assign(env, {
    MONITORING: '1',
    PROMETHEUS_PORT: String(await freePort()),
    MYSQLD_EXPORTER_PORT: String(await freePort()),
  });
  await extraEnv(env);
  const started = await run([TSX_BIN, 'cluster/cli/start.ts'], env, 300_000);
  expect(started.code, started.output).to.equal(0);
  const stack: MonitoredStack = {
    env,
    home,
    promUrl: `http://127.0.0.1:${env.PROMETHEUS_PORT}`,
    frontDoor: `http://127.0.0.1:${env.HTTP_PORT}`,
    workerUrls: ports.map((port) => `http://127.0.0.1:${port}`),
    receivedIds: new Set(),
    stopTraffic: () => undefined,
  };
  // Light steady traffic through the front door, one round each 500 ms (so at most ~2 requests in flight
  // per kind on a slow machine): reads a statement serves alone and coalesced, a keyed write replayed
  // after its first time, a sleep, an unknown route. Every id a client got back is kept.
  const key = `dashboard-${randomUUID()}`;
  const send = (url: string, init?: RequestInit) =>
    request(url, init).then(
      (reply) => {
        const id = reply.headers.get('x-request-id');
        if (id) stack.receivedIds.add(id);
      },
      () => undefined,
    );
  const round = () => {
    void send(`${stack.frontDoor}/todos`);
    void send(`${stack.frontDoor}/todos/1`);
    void send(`${stack.frontDoor}/todos/2`);
    void send(`${stack.frontDoor}/todos`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'Idempotency-Key': key },
      body: JSON.stringify({ item: key }),
    });
    void send(`${stack.frontDoor}/sleep/0.05`);
    void send(`${stack.frontDoor}/no-such-route`);
  };
  round();
  const timer = setInterval(round, 500);
  stack.stopTraffic = () => clearInterval(timer);
  return stack;
}

async function stopMonitoredStack(stack: MonitoredStack | undefined): Promise<void> {
  if (!stack) return;
  stack.stopTraffic();
  await run([PM2_BIN, 'kill'], stack.env, 60_000);
  fs.rmSync(stack.home, { recursive: true, force: true });
}

async function promQuery(stack: MonitoredStack, expr: string): Promise<PromResult> {
  const reply = await request(`${stack.promUrl}/api/v1/query?query=${encodeURIComponent(expr)}`);
  return reply.body as PromResult;
}

/** Polls until the query returns a series (Prometheus scrapes every 5 s); the last answer otherwise. */
async function eventually(stack: MonitoredStack, expr: string, timeoutMs: number): Promise<PromResult> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const answer = await promQuery(stack, expr);
    if (answer.status !== 'success' || answer.data.result.length > 0 || Date.now() > deadline) return answer;
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
}

async function waitForTargetsUp(stack: MonitoredStack, jobs: string[]): Promise<void> {
  await waitFor(
    `every Prometheus target (${jobs.join(', ')}) up`,
    async () => {
      const reply = await request(`${stack.promUrl}/api/v1/targets`, { signal: AbortSignal.timeout(2000) });
      const targets = (reply.body as { data: { activeTargets: { labels: { job: string }; health: string }[] } }).data
        .activeTargets;
      const health = targets.map((t) => `${t.labels.job}:${t.health}`).sort();
      return health.join(' ') === jobs.map((job) => `${job}:up`).join(' ') ? true : undefined;
    },
    90_000,
    1000,
  );
}

/** Titles and answers of the panel queries that returned no series (or an error) within the wait. */
async function emptyQueries(stack: MonitoredStack, queries: DashboardQuery[]): Promise<string[]> {
  const empty: string[] = [];
  for (const { title, expr } of queries) {
    const answer = await eventually(stack, expr, 40_000);
    if (answer.status !== 'success') empty.push(`${title}: ${expr}: ${answer.error}`);
    else if (answer.data.result.length === 0) empty.push(`${title}: ${expr}`);
  }
  return empty;
}

describe('the Grafana dashboard against MONITORING=1 npm start', function () {
  this.timeout(420_000);
  let stack: MonitoredStack | undefined;

  before(async function () {
    this.timeout(300_000);
    stack = await startMonitoredStack('dash', async () => undefined);
    await waitForTargetsUp(stack, ['haproxy', 'mysqld', 'prometheus', 'workers', 'workers']);
  });

  after(async () => {
    await stopMonitoredStack(stack);
  });

  it('returns data for every panel query but the Galera-only ones, which parse', async () => {
    const galeraOnly = QUERIES.filter(namesGaleraOnly);
    expect(galeraOnly.length).to.be.greaterThan(0);
    expect(
      await emptyQueries(
        stack!,
        QUERIES.filter((query) => !namesGaleraOnly(query)),
      ),
    ).to.deep.equal([]);
    for (const { title, expr } of galeraOnly) {
      const answer = await promQuery(stack!, expr);
      expect(answer.status, `${title}: ${answer.error}`).to.equal('success');
    }
    // The health agent's families are the ones it renders.
    const agentFamilies = exposedFamilies(renderAgentMetrics([]));
    const named = galeraOnly.flatMap((query) => [...namesIn(query.expr)]).filter((name) => name.startsWith('galera_'));
    expect(named.filter((name) => !agentFamilies.includes(name))).to.deep.equal([]);
  });

  it('has a panel for every metric family a worker exports, in either format', async () => {
    for (const url of stack!.workerUrls) {
      const classic = await request(`${url}/metrics`);
      expect(classic.headers.get('content-type')).to.match(/^text\/plain; version=0\.0\.4/);
      const families = exposedFamilies(classic.text);
      expect(families).to.include.members(['http_request_duration_seconds', 'db_query_duration_seconds', 'app_info']);
      expect(familiesWithoutPanel(families, QUERIES), `${url}: families without a panel`).to.deep.equal([]);
      const open = await request(`${url}/metrics`, { headers: { Accept: 'application/openmetrics-text' } });
      expect(familiesWithoutPanel(exposedFamilies(open.text), QUERIES), `${url}: OpenMetrics`).to.deep.equal([]);
    }
  });

  it('keeps exemplars on the panels that show them, naming requests by an X-Request-Id a client got', async () => {
    // Ids of our own (the front door and the workers keep a sane given id) and ones the front door made.
    for (let i = 0; i < 10; i += 1) {
      const own = `exemplar-test-${i}-${randomUUID().slice(0, 8)}`;
      const reply = await request(`${stack!.frontDoor}/todos`, { headers: { 'X-Request-Id': own } });
      expect(reply.status).to.equal(200);
      expect(reply.headers.get('x-request-id')).to.equal(own);
      stack!.receivedIds.add(own);
    }
    const exemplarExprs = dashboardQueries({
      panels: DASHBOARD.panels.map((panel) => ({ ...panel, targets: panel.targets?.filter((t) => t.exemplar) })),
    });
    expect(exemplarExprs.map((query) => query.title)).to.have.length(2);
    const start = Math.floor(Date.now() / 1000) - 600;
    for (const { title, expr } of exemplarExprs) {
      const matched = await waitFor(
        `an exemplar of "${title}" with a request id a client received`,
        async () => {
          const end = Math.ceil(Date.now() / 1000);
          const reply = await request(
            `${stack!.promUrl}/api/v1/query_exemplars?query=${encodeURIComponent(expr)}&start=${start}&end=${end}`,
          );
          const body = reply.body as ExemplarResult;
          expect(body.status).to.equal('success');
          const exemplars = body.data.flatMap((series) => series.exemplars);
          for (const exemplar of exemplars) expect(Object.keys(exemplar.labels)).to.deep.equal(['request_id']);
          return exemplars.find((exemplar) => stack!.receivedIds.has(exemplar.labels.request_id!));
        },
        60_000,
        1000,
      );
      expect(Number(matched.value)).to.be.above(0);
    }
  });

  it('reports the version and the git commit in app_info, for every worker', async () => {
    const commit = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: PROJECT_ROOT, encoding: 'utf8' }).trim();
    const { version } = JSON.parse(fs.readFileSync(path.join(PROJECT_ROOT, 'package.json'), 'utf8')) as {
      version: string;
    };
    const answer = await eventually(stack!, 'app_info', 30_000);
    const seen = answer.data.result.map((series) => `${series.metric.version} ${series.metric.commit}`);
    expect(seen).to.deep.equal(stack!.workerUrls.map(() => `${version} ${commit}`));
  });
});

describe('the Grafana dashboard against DB_TOPOLOGY=galera MONITORING=1 npm start', function () {
  this.timeout(420_000);
  let stack: MonitoredStack | undefined;

  before(async function () {
    this.timeout(300_000);
    stack = await startMonitoredStack('dashgal', async (env) => {
      const base = await freeGaleraBasePorts();
      Object.assign(env, {
        DB_TOPOLOGY: 'galera',
        GALERA_CLIENT_PORT: String(base.client),
        GALERA_GROUP_PORT: String(base.group),
        GALERA_IST_PORT: String(base.ist),
        GALERA_SST_PORT: String(base.sst),
        GALERA_AGENT_PORT: String(base.agent),
        START_TIMEOUT_MS: '150000',
      });
    });
    await waitForTargetsUp(stack, ['galera', 'haproxy', 'mysqld', 'prometheus', 'workers', 'workers']);
  });

  after(async () => {
    await stopMonitoredStack(stack);
  });

  it('returns data for every panel query, the Galera ones included', async () => {
    expect(await emptyQueries(stack!, QUERIES)).to.deep.equal([]);
  });
});

// GET /metrics tells the truth at scrape time, on a fresh worker of the shared stack (so every counter
// starts from zero): pool gauges while requests hold and wait, exact counter growth, bounded labels, and
// text that promtool accepts.
import { execFile } from 'node:child_process';
import { expect } from 'chai';
import { request } from '../support/http';
import { sharedStack, type TestStack } from '../support/stack';
import { waitFor } from '../support/wait';
import type { WorkerHandle } from '../support/worker';

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Parses Prometheus text format samples (comments skipped). */
function parseSamples(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match) throw new Error(`Not a Prometheus sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const [, key, value] of (match[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) {
      labels[key!] = value!;
    }
    samples.push({ name: match[1]!, labels, value: Number(match[3]) });
  }
  return samples;
}

/** The one sample with this name whose labels include `labels`; fails when there is none or several. */
function value(samples: Sample[], name: string, labels: Record<string, string> = {}): number {
  const found = samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  expect(found, `${name}${JSON.stringify(labels)}`).to.have.length(1);
  return found[0]!.value;
}

function promtoolCheckMetrics(text: string): Promise<{ code: number; output: string }> {
  return new Promise((resolve, reject) => {
    const child = execFile('/usr/bin/promtool', ['check', 'metrics'], (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
      if (code === -1) reject(error);
      else resolve({ code, output: `${stdout}${stderr}` });
    });
    child.stdin?.end(text);
  });
}

describe('GET /metrics', function () {
  this.timeout(40_000);
  let stack: TestStack;
  let worker: WorkerHandle;
  let workerName: string;

  const scrape = async () => {
    const reply = await request(`${worker.url}/metrics`);
    expect(reply.status).to.equal(200);
    return { text: reply.text, samples: parseSamples(reply.text) };
  };

  before(async () => {
    stack = await sharedStack();
    // A worker of its own, stopped afterwards: the shared workers' counters depend on earlier files,
    // and the process-list test counts exactly two app sessions.
    worker = await stack.addWorker();
    workerName = `test-worker-${worker.port}`;
  });

  after(async () => {
    await worker?.stop();
  });

  it('shows db_pool_rejected_total and the closed counters at 0 from the first scrape', async () => {
    const { samples } = await scrape();
    expect(value(samples, 'db_pool_rejected_total', { reason: 'queue_full' })).to.equal(0);
    expect(value(samples, 'db_pool_rejected_total', { reason: 'timeout' })).to.equal(0);
    for (const reason of ['error', 'destroyed', 'remote', 'shutdown']) {
      expect(value(samples, 'db_pool_connections_closed_total', { reason })).to.equal(0);
    }
    expect(value(samples, 'db_pool_connections_created_total')).to.equal(1);
    expect(value(samples, 'db_pool_connections_max')).to.equal(1);
  });

  it('shows used 1 and pending 1 while a /sleep/3 holds the connection and a second request waits', async () => {
    const sleeping = request(`${worker.url}/sleep/3`);
    await waitFor(
      'the sleep to hold the connection',
      async () => (((await request(`${worker.url}/pool`)).body as { used: number }).used === 1 ? true : undefined),
      2_000,
    );
    const waiting = request(`${worker.url}/todos`);
    await waitFor(
      'the second request to queue',
      async () =>
        ((await request(`${worker.url}/pool`)).body as { pending: number }).pending === 1 ? true : undefined,
      2_000,
    );

    const during = (await scrape()).samples;
    expect(value(during, 'db_pool_connections', { state: 'used' })).to.equal(1);
    expect(value(during, 'db_pool_connections', { state: 'idle' })).to.equal(0);
    expect(value(during, 'db_pool_pending_requests')).to.equal(1);
    expect(value(during, 'http_requests_in_flight')).to.equal(3); // the sleep, the waiter, this scrape

    expect((await sleeping).status).to.equal(200);
    expect((await waiting).status).to.equal(200);
    const afterwards = (await scrape()).samples;
    expect(value(afterwards, 'db_pool_connections', { state: 'used' })).to.equal(0);
    expect(value(afterwards, 'db_pool_connections', { state: 'idle' })).to.equal(1);
    expect(value(afterwards, 'db_pool_pending_requests')).to.equal(0);
    expect(value(afterwards, 'http_requests_in_flight')).to.equal(1);
  });

  it('counts exactly 7 more list_todos queries and /todos requests after 7 GET /todos', async () => {
    const ok = { query: 'list_todos', outcome: 'ok' };
    const http = { method: 'GET', route: '/todos', status: '200' };
    const before = (await scrape()).samples;
    const queriesBefore = value(before, 'db_query_duration_seconds_count', ok);
    const infBefore = value(before, 'db_query_duration_seconds_bucket', { ...ok, le: '+Inf' });
    const requestsBefore = value(before, 'http_requests_total', http);
    const waitsBefore = value(before, 'db_pool_wait_seconds_count');

    for (let i = 0; i < 7; i += 1) expect((await request(`${worker.url}/todos`)).status).to.equal(200);

    const after = (await scrape()).samples;
    expect(value(after, 'db_query_duration_seconds_count', ok) - queriesBefore).to.equal(7);
    expect(value(after, 'db_query_duration_seconds_bucket', { ...ok, le: '+Inf' }) - infBefore).to.equal(7);
    expect(value(after, 'http_requests_total', http) - requestsBefore).to.equal(7);
    expect(value(after, 'db_pool_wait_seconds_count') - waitsBefore).to.equal(7);
    expect(value(after, 'http_request_duration_seconds_count', { method: 'GET', route: '/todos' })).to.be.at.least(7);
  });

  it('labels requests with the route template, never the raw URL', async () => {
    expect((await request(`${worker.url}/sleep/0.01`)).status).to.equal(200);
    expect((await request(`${worker.url}/no/such/path-12345`)).status).to.equal(404);
    const { text, samples } = await scrape();
    expect(value(samples, 'http_requests_total', { method: 'GET', route: '/sleep/:s', status: '200' })).to.be.at.least(
      1,
    );
    expect(value(samples, 'http_requests_total', { method: 'GET', route: 'unmatched', status: '404' })).to.equal(1);
    expect(text).to.not.include('/sleep/0.01');
    expect(text).to.not.include('path-12345');
    const routes = new Set(samples.filter((s) => s.labels.route !== undefined).map((s) => s.labels.route));
    expect([...routes].sort()).to.deep.equal(['/metrics', '/pool', '/sleep/:s', '/todos', 'unmatched']);
  });

  it('labels a 405 or 501 on a known path with its route template: only unknown paths are unmatched', async () => {
    expect((await request(`${worker.url}/sleep/1`, { method: 'DELETE' })).status).to.equal(405);
    expect((await request(`${worker.url}/todos`, { method: 'PROPFIND' })).status).to.equal(501);
    const { samples } = await scrape();
    expect(value(samples, 'http_requests_total', { method: 'DELETE', route: '/sleep/:s', status: '405' })).to.equal(1);
    expect(value(samples, 'http_requests_total', { method: 'OTHER', route: '/todos', status: '501' })).to.equal(1);
    const unmatched = samples.filter((s) => s.name === 'http_requests_total' && s.labels.route === 'unmatched');
    expect(unmatched.map((s) => s.labels.status)).to.deep.equal(['404']);
  });

  it('puts the worker label on every series', async () => {
    const { samples } = await scrape();
    expect(samples.length).to.be.above(50);
    const unlabelled = samples.filter((s) => s.labels.worker !== workerName).map((s) => s.name);
    expect(unlabelled).to.deep.equal([]);
  });

  it('passes promtool check metrics for every metric the project defines', async () => {
    const { text } = await scrape();
    const { code, output } = await promtoolCheckMetrics(text);
    const problems = output.split('\n').filter((line) => line.trim() !== '');
    // prom-client's default metrics (process_*, nodejs_*) are not ours to rename. promtool (2.x,
    // Debian) flags three of them: nodejs_active_handles_total, nodejs_active_requests_total and
    // nodejs_active_resources_total are gauges, and 'non-counter metrics should not have "_total"
    // suffix'. Those lines are dropped; any other problem, on a metric of ours, fails the test.
    const ours = problems.filter((line) => !/^(process_|nodejs_)[a-z_]+ /.test(line));
    expect(ours, output).to.deep.equal([]);
    expect(code, output).to.equal(problems.length === 0 ? 0 : 3);
  });
});

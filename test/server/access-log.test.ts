// The access log of real worker processes: one JSON line per request in the worker's own log file
// (LOG_DIR, as the stack runs it), with the route template, the status the client got (499 when it
// left), the time spent queued for the connection and the body bytes; X-Request-Id taken from the
// request when sane, echoed, logged and put in error bodies. Health checks that pass are counted, not logged.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { request, type Reply } from '../support/http';
import { sharedStack, type TestStack } from '../support/stack';
import { waitFor } from '../support/wait';
import type { WorkerHandle } from '../support/worker';

interface AccessLine {
  time: string;
  level: string;
  msg: string;
  worker: string;
  requestId: string;
  method: string;
  route: string;
  status: number;
  durationMs: number;
  poolWaitMs: number;
  bytes: number | null;
  remote: string;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

let idCounter = 0;
/** A request id no other request of this run uses, so its log line can be found by it alone. */
function uniqueId(label: string): string {
  idCounter += 1;
  return `al-${label}-${process.pid}-${Date.now()}-${idCounter}`;
}

const logDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kh-access-log-'));

/** The worker's own log file, as it writes it with LOG_DIR set. */
function logText(worker: WorkerHandle): string {
  try {
    return fs.readFileSync(path.join(logDir, `test-worker-${worker.port}.log`), 'utf8');
  } catch {
    return '';
  }
}

function accessLines(worker: WorkerHandle, text = logText(worker)): AccessLine[] {
  return text
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as AccessLine)
    .filter((line) => line.msg === 'request');
}

async function healthChecksCounted(worker: WorkerHandle, route: string, status: number): Promise<number> {
  const metrics = (await request(`${worker.url}/metrics`)).text;
  const pattern = new RegExp(`^http_health_checks_total\\{route="${route}",status="${status}"[^}]*\\} (\\d+)$`, 'm');
  return Number(pattern.exec(metrics)?.[1] ?? 0);
}

/** The one access line of `requestId`: waits for it (the file is written after the response), then for a duplicate. */
async function lineOf(worker: WorkerHandle, requestId: string): Promise<AccessLine> {
  await waitFor(
    `the access line of ${requestId}`,
    () => accessLines(worker).find((l) => l.requestId === requestId),
    3_000,
  );
  await new Promise((resolve) => setTimeout(resolve, 100));
  const lines = accessLines(worker).filter((l) => l.requestId === requestId);
  expect(lines, `access lines of ${requestId}`).to.have.length(1);
  return lines[0]!;
}

function get(worker: WorkerHandle, path: string, requestId: string, init: RequestInit = {}): Promise<Reply> {
  return request(`${worker.url}${path}`, { ...init, headers: { 'x-request-id': requestId } });
}

function wait(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

describe('access log', function () {
  this.timeout(40_000);
  let stack: TestStack;

  before(async () => {
    stack = await sharedStack();
  });

  after(() => {
    fs.rmSync(logDir, { recursive: true, force: true });
  });

  describe('on a worker of the shared stack', () => {
    let worker: WorkerHandle;
    before(async () => {
      worker = await stack.addWorker({ LOG_DIR: logDir });
    });
    after(async () => {
      await worker?.stop();
    });

    const cases = [
      { method: 'GET', path: '/todos', route: '/todos', status: 200 },
      { method: 'HEAD', path: '/todos', route: '/todos', status: 200 },
      { method: 'GET', path: '/todos/4294967295', route: '/todos/:id', status: 404 },
      { method: 'GET', path: '/sleep/abc', route: '/sleep/:s', status: 400 },
      { method: 'GET', path: '/no/such/path', route: 'unmatched', status: 404 },
      { method: 'GET', path: '/pool', route: '/pool', status: 200 },
    ];
    for (const c of cases) {
      it(`logs ${c.method} ${c.path} once: route ${c.route}, status ${c.status}, bytes as sent`, async () => {
        const requestId = uniqueId('fields');
        const startedAt = Date.now();
        // fetch itself, not the JSON-parsing helper: a HEAD answer has JSON headers and no body.
        const reply = await fetch(`${worker.url}${c.path}`, {
          method: c.method,
          headers: { 'x-request-id': requestId },
        });
        const bodyBytes = (await reply.arrayBuffer()).byteLength;
        expect(reply.status).to.equal(c.status);
        const line = await lineOf(worker, requestId);
        expect(line).to.have.all.keys(
          'time',
          'level',
          'msg',
          'worker',
          'requestId',
          'method',
          'route',
          'status',
          'durationMs',
          'poolWaitMs',
          'bytes',
          'remote',
        );
        expect(line).to.include({
          level: 'info',
          msg: 'request',
          worker: `test-worker-${worker.port}`,
          requestId,
          method: c.method,
          route: c.route,
          status: c.status,
        });
        expect(line.bytes).to.equal(bodyBytes);
        if (c.method === 'GET') expect(line.bytes).to.be.above(0);
        expect(Date.parse(line.time)).to.be.within(startedAt, Date.now());
        expect(line.durationMs)
          .to.be.a('number')
          .within(0, Date.now() - startedAt);
        // Tenths of a millisecond: at most one decimal.
        expect(Math.round(line.durationMs * 10)).to.be.closeTo(line.durationMs * 10, 1e-6);
        expect(line.remote).to.match(/127\.0\.0\.1$/);
        if (c.route === '/pool' || c.route === 'unmatched') expect(line.poolWaitMs).to.equal(0);
      });
    }

    for (const route of ['/healthz', '/readyz']) {
      it(`counts a passing ${route} in http_health_checks_total instead of logging it`, async () => {
        const before = await healthChecksCounted(worker, route, 200);
        const requestId = uniqueId('probe');
        expect((await get(worker, route, requestId)).status).to.equal(200);
        const marker = uniqueId('after-probe');
        await get(worker, '/', marker);
        // Lines are written in order: once the next request's line is there, the probe's would be too.
        await lineOf(worker, marker);
        expect(logText(worker)).to.not.include(requestId);
        expect(await healthChecksCounted(worker, route, 200)).to.equal(before + 1);
      });
    }

    for (const requestId of ['trace.ABC-123_x', 'b'.repeat(64)]) {
      it(`echoes a valid X-Request-Id (${requestId.slice(0, 15)}) in the header, the log line and the error body`, async () => {
        const reply = await get(worker, '/nope', requestId);
        expect(reply.status).to.equal(404);
        expect(reply.headers.get('x-request-id')).to.equal(requestId);
        expect(reply.body).to.deep.equal({ error: 'not_found', message: 'No route for GET /nope.', requestId });
        expect((await lineOf(worker, requestId)).status).to.equal(404);
      });
    }

    for (const invalid of ['has space', 'semi;colon', 'a'.repeat(65), 'ünicode']) {
      it(`replaces an invalid X-Request-Id (${JSON.stringify(invalid.slice(0, 12))}) with a new UUID everywhere`, async () => {
        const reply = await get(worker, '/sleep/abc', invalid);
        const given = reply.headers.get('x-request-id')!;
        expect(given).to.match(UUID);
        expect((reply.body as { requestId: unknown }).requestId).to.equal(given);
        const line = await lineOf(worker, given);
        expect(line).to.include({ route: '/sleep/:s', status: 400 });
      });
    }

    it('makes up an id for a request without one and returns it on a success too', async () => {
      const reply = await request(`${worker.url}/`);
      const id = reply.headers.get('x-request-id')!;
      expect(id).to.match(UUID);
      expect((await lineOf(worker, id)).status).to.equal(200);
    });
  });

  describe('on a worker of its own', () => {
    let worker: WorkerHandle;
    before(async () => {
      worker = await stack.addWorker({ LOG_DIR: logDir });
    });
    after(async () => {
      await worker?.stop();
    });

    it('charges the time queued behind a /sleep to poolWaitMs, and nothing to a request without the database', async () => {
      const holderId = uniqueId('holder');
      const waiterId = uniqueId('waiter');
      const holder = get(worker, '/sleep/0.6', holderId);
      await waitFor(
        'the sleep to hold the connection',
        async () => (((await request(`${worker.url}/pool`)).body as { used: number }).used === 1 ? true : undefined),
        2_000,
      );
      const queuedAt = performance.now();
      const waiter = await get(worker, '/todos', waiterId);
      const waiterMs = performance.now() - queuedAt;
      expect(waiter.status).to.equal(200);
      expect((await holder).status).to.equal(200);

      const waiterLine = await lineOf(worker, waiterId);
      expect(waiterLine.poolWaitMs).to.be.above(300).and.at.most(waiterLine.durationMs);
      expect(waiterLine.durationMs).to.be.at.most(waiterMs + 1);
      const holderLine = await lineOf(worker, holderId);
      expect(holderLine.poolWaitMs).to.be.at.least(0).and.below(100);
      expect(holderLine.durationMs).to.be.at.least(590);
      const poolProbe = accessLines(worker).filter((l) => l.route === '/pool');
      expect(poolProbe).to.have.length.above(0);
      expect(poolProbe.map((l) => l.poolWaitMs)).to.satisfy((waits: number[]) => waits.every((w) => w === 0));
    });

    it('logs a request abandoned in the queue as 499, with its wait', async () => {
      const holder = request(`${worker.url}/sleep/1`);
      await wait(200);
      const abandonedId = uniqueId('queued-499');
      const controller = new AbortController();
      const abandoned = get(worker, '/sleep/0.01', abandonedId, { signal: controller.signal }).catch(
        (e: Error) => e.name,
      );
      await wait(300);
      controller.abort();
      expect(await abandoned).to.equal('AbortError');
      const line = await lineOf(worker, abandonedId);
      expect(line).to.include({ route: '/sleep/:s', status: 499, bytes: 0 });
      expect(line.poolWaitMs).to.be.above(200);
      expect((await holder).status).to.equal(200);
    });

    it('logs a request whose client left while its query ran as 499, as the metrics count it', async () => {
      const logged499 = () => accessLines(worker).filter((l) => l.status === 499 && l.route === '/sleep/:s').length;
      const counted499 = async () => {
        const metrics = (await request(`${worker.url}/metrics`)).text;
        return Number(
          /^http_requests_total\{method="GET",route="\/sleep\/:s",status="499"[^}]*\} (\d+)$/m.exec(metrics)?.[1] ?? 0,
        );
      };
      const loggedBefore = logged499();
      const countedBefore = await counted499();
      const abandonedId = uniqueId('running-499');
      const controller = new AbortController();
      const abandoned = get(worker, '/sleep/3', abandonedId, { signal: controller.signal }).catch((e: Error) => e.name);
      await wait(150);
      controller.abort();
      expect(await abandoned).to.equal('AbortError');
      const line = await lineOf(worker, abandonedId);
      expect(line).to.include({ route: '/sleep/:s', status: 499, bytes: 0 });
      // The line is written once the handler finished, which is when the statement was stopped on the
      // server (KILL QUERY as the client left): after the abort, long before the 3 s sleep would end.
      expect(line.durationMs).to.be.within(140, 2500);
      expect(logged499() - loggedBefore).to.equal(1);
      expect((await counted499()) - countedBefore).to.equal(1);
    });
  });

  describe('on a worker whose database cannot be reached', () => {
    it('logs a failing /readyz like any request, and counts it', async () => {
      // Without LOG_DIR (on stdout), where the test support sees its 'listening' line.
      const worker = await stack.addWorker({ HAPROXY_PORT: '1', DB_CONNECT_TIMEOUT_MS: '200' }, 'listening');
      try {
        const requestId = uniqueId('not-ready');
        expect((await get(worker, '/readyz', requestId)).status).to.equal(503);
        const line = await waitFor(
          `the access line of ${requestId}`,
          () => accessLines(worker, worker.output()).find((l) => l.requestId === requestId),
          3_000,
        );
        expect(line).to.include({ route: '/readyz', status: 503 });
        expect(await healthChecksCounted(worker, '/readyz', 503)).to.equal(1);
      } finally {
        await worker.stop();
      }
    });
  });

  describe('with ACCESS_LOG=0', () => {
    it('writes no request lines, and still returns and uses request ids', async () => {
      const worker = await stack.addWorker({ ACCESS_LOG: '0', LOG_DIR: logDir });
      try {
        const requestId = uniqueId('off');
        const reply = await get(worker, '/nope', requestId);
        expect(reply.headers.get('x-request-id')).to.equal(requestId);
        expect((reply.body as { requestId: unknown }).requestId).to.equal(requestId);
        expect((await get(worker, '/todos', uniqueId('off'))).status).to.equal(200);
        await wait(600);
        // The log is written (the start-up lines are there), it just has no request lines.
        expect(logText(worker)).to.include('"msg":"ready"');
        expect(logText(worker)).to.not.include('"msg":"request"');
        expect(logText(worker)).to.not.include(requestId);
      } finally {
        await worker.stop();
      }
    });
  });
});

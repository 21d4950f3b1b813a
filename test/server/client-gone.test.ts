// A client that gives up (curl -m, a proxy timeout) must not keep its place in the worker's one-connection
// queue, and a read whose client left while it ran is stopped on the server and counted as cancelled
// (client-gone-cancel.test.ts checks the process list and the next request's wait).
import { expect } from 'chai';
import { request } from '../support/http';
import { sharedStack, type TestStack } from '../support/stack';
import type { WorkerHandle } from '../support/worker';

function counter(metrics: string, pattern: RegExp): number {
  const match = metrics.match(pattern);
  return match ? Number(match[1]) : 0;
}

describe('a client that goes away', function () {
  this.timeout(30_000);
  let stack: TestStack;
  let worker: WorkerHandle;

  before(async () => {
    stack = await sharedStack();
    worker = await stack.addWorker();
  });

  after(async () => {
    await worker.stop();
  });

  it('while waiting for the connection leaves the queue, and its query never runs', async () => {
    const holder = request(`${worker.url}/sleep/1.5`);
    await new Promise((resolve) => setTimeout(resolve, 200));
    const controller = new AbortController();
    const abandoned = request(`${worker.url}/sleep/0.01`, { signal: controller.signal }).catch(
      (error: Error) => error.name,
    );
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect((await request(`${worker.url}/pool`)).body).to.include({ used: 1, pending: 1 });

    controller.abort();
    expect(await abandoned).to.equal('AbortError');
    await new Promise((resolve) => setTimeout(resolve, 100));
    // The waiter is gone at once, long before the holder finishes.
    expect((await request(`${worker.url}/pool`)).body).to.include({ used: 1, pending: 0 });
    expect((await holder).body).to.deep.equal({ slept: 1.5 });

    const metrics = (await request(`${worker.url}/metrics`)).text;
    // Only the holder's sleep ran; the abandoned one is neither a query nor a pool rejection.
    expect(counter(metrics, /^db_query_duration_seconds_count\{[^}]*query="sleep",outcome="ok"\} (\d+)$/m)).to.equal(1);
    expect(metrics).not.to.match(/query="sleep",outcome="cancelled"/);
    expect(counter(metrics, /^db_pool_rejected_total\{reason="timeout"[^}]*\} (\d+)$/m)).to.equal(0);
    expect(
      counter(metrics, /^http_requests_total\{method="GET",route="\/sleep\/:s",status="499"[^}]*\} (\d+)$/m),
    ).to.equal(1);
  });

  it('while its read runs has it stopped on the server, counts it as cancelled and keeps the connection', async () => {
    const controller = new AbortController();
    const abandoned = request(`${worker.url}/sleep/0.5`, { signal: controller.signal }).catch(
      (error: Error) => error.name,
    );
    await new Promise((resolve) => setTimeout(resolve, 150));
    controller.abort();
    expect(await abandoned).to.equal('AbortError');
    await new Promise((resolve) => setTimeout(resolve, 600));
    const metrics = (await request(`${worker.url}/metrics`)).text;
    expect(
      counter(metrics, /^db_query_duration_seconds_count\{[^}]*query="sleep",outcome="cancelled"\} (\d+)$/m),
    ).to.equal(1);
    expect(
      counter(metrics, /^db_query_cancellations_total\{reason="client_gone",result="killed"[^}]*\} (\d+)$/m),
    ).to.equal(1);
    // Stopped for a client that left: not a query error, and its connection stays open.
    expect(metrics).not.to.match(/^db_query_errors_total\{[^}]*query="sleep"/m);
    expect((await request(`${worker.url}/pool`)).body).to.include({
      used: 0,
      idle: 1,
      pending: 0,
      open: 1,
      created: 1,
    });
  });
});

describe('GET /readyz while the connection is busy', function () {
  this.timeout(30_000);

  it('answers ready at once instead of queueing behind the busy connection', async () => {
    const stack = await sharedStack();
    const worker = await stack.addWorker({ DB_ACQUIRE_TIMEOUT_MS: '5000' });
    try {
      const holder = request(`${worker.url}/sleep/2`);
      await new Promise((resolve) => setTimeout(resolve, 200));
      const started = performance.now();
      const reply = await request(`${worker.url}/readyz`);
      expect(performance.now() - started).to.be.below(500);
      expect(reply.status).to.equal(200);
      expect(reply.body).to.deep.equal({ status: 'ready', pool: 'busy' });
      expect((await holder).status).to.equal(200);
    } finally {
      await worker.stop();
    }
  });
});

// HAProxy's `maxconn` on the MySQL server counts every open server connection, idle pooled ones
// included. A worker beyond the budget waits in HAProxy's queue on every connect, gets a fast, clear
// 503 (timeout queue), and connects as soon as a slot frees.
import { expect } from 'chai';
import mysql from 'mysql2/promise';
import { request } from '../support/http';
import { startTestStack, type TestStack } from '../support/stack';
import type { WorkerHandle } from '../support/worker';

async function haproxyQueue(stack: TestStack): Promise<number> {
  const csv = (await request(`http://127.0.0.1:${stack.settings.haproxy.statsPort}/stats;csv`)).text;
  const header = csv.split('\n')[0]!.replace(/^# /, '').split(',');
  const row = csv
    .split('\n')
    .find((line) => line.startsWith('mysql,mysql1,'))!
    .split(',');
  return Number(row[header.indexOf('qcur')]);
}

describe("HAProxy maxconn 3 with one worker, a reload's second process, a cancellation and a third worker", function () {
  this.timeout(60_000);
  let stack: TestStack;
  let extra: WorkerHandle;
  let side: mysql.Connection | undefined;

  before(async () => {
    // The smallest budget the settings accept for one worker: its connection, the one its replacement
    // opens during a reload, and its KILL QUERY side connection.
    stack = await startTestStack({ workers: 1, stackEnv: { HAPROXY_SERVER_MAXCONN: '3' } });
  });

  after(async () => {
    await side?.end().catch(() => undefined);
    await extra?.stop();
    await stack.stop();
  });

  it('queues a worker beyond the budget in HAProxy, answers its requests 503 quickly, and lets it in once a slot frees', async () => {
    // The worker's idle pooled connection holds one slot, a second worker (as a reload's new process
    // would) the other.
    expect((await request(`${stack.workers[0]!.url}/pool`)).body).to.include({ open: 1, idle: 1 });
    const second = await stack.addWorker();
    expect((await request(`${second.url}/pool`)).body).to.include({ open: 1, idle: 1 });
    // The third slot: a cancellation's side connection (the app's account through HAProxy), held open.
    side = await mysql.createConnection({
      host: stack.settings.haproxy.host,
      port: stack.settings.haproxy.port,
      user: stack.settings.database.appUser,
      password: stack.settings.database.appPassword,
    });
    extra = await stack.addWorker({}, 'listening');

    const started = performance.now();
    const reply = await request(`${extra.url}/todos`);
    const elapsed = performance.now() - started;
    expect(reply.status).to.equal(503);
    expect(reply.body).to.deep.equal({
      error: 'database_unavailable',
      message: 'The database is not reachable through HAProxy right now.',
      requestId: reply.headers.get('x-request-id'),
    });
    expect(reply.headers.get('retry-after')).to.equal('1');
    // At most two of HAProxy's `timeout queue` (2 s each): the worker's own start-up check may hold its
    // pool slot for one, this request's connect takes the other (and is not retried).
    expect(elapsed).to.be.below(5_000);
    expect((await request(`${extra.url}/readyz`)).status).to.equal(503);

    // The second worker goes away (as the old process does when a reload ends): its connection frees
    // the slot and the third worker gets it.
    await second.stop();
    const deadline = Date.now() + 15_000;
    let status = 0;
    while (Date.now() < deadline && status !== 200) {
      status = (await request(`${extra.url}/todos`)).status;
      if (status !== 200) await new Promise((resolve) => setTimeout(resolve, 300));
    }
    expect(status).to.equal(200);
    expect(await haproxyQueue(stack)).to.equal(0);
  });
});

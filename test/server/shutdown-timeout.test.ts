// A worker asked to stop whose requests outlast SHUTDOWN_TIMEOUT_MS: it must exit by itself, 0, within
// about a second more (pm2 SIGKILLs it at SHUTDOWN_TIMEOUT_MS + 2 s), answer those requests 503
// shutting_down rather than a 500 or a cut connection, and leave no statement running on the server.
// On a stack of its own: one test pauses HAProxy.
import { expect } from 'chai';
import type mysql from 'mysql2/promise';
import { request, type Reply } from '../support/http';
import { startTestStack, type TestStack } from '../support/stack';
import { waitFor } from '../support/wait';
import type { WorkerHandle } from '../support/worker';

const SHUTDOWN_TIMEOUT_MS = 1000;

describe('a worker asked to stop while work outlasts SHUTDOWN_TIMEOUT_MS', function () {
  this.timeout(60_000);
  let stack: TestStack;
  let admin: mysql.Connection;
  const measured: Record<string, number> = {};

  before(async () => {
    stack = await startTestStack({ workers: 0 });
    admin = await stack.admin();
  });

  afterEach(() => stack.haproxy.resume());

  after(async () => {
    console.log(`      measured (ms): ${JSON.stringify(measured)}`);
    await admin?.end();
    await stack?.stop();
  });

  async function appStatements(): Promise<string[]> {
    const [rows] = await admin.query<mysql.RowDataPacket[]>(
      'SELECT INFO FROM information_schema.PROCESSLIST WHERE USER = ? AND INFO IS NOT NULL',
      [stack.settings.database.appUser],
    );
    return rows.map((row) => String(row.INFO));
  }

  /** SIGTERM; resolves with the exit code and how long the exit took, or 'still running' after `limitMs`. */
  function terminate(
    worker: WorkerHandle,
    limitMs: number,
  ): Promise<{ code: number | null | 'still running'; ms: number }> {
    const started = performance.now();
    const exited = new Promise<number | null>((resolve) => worker.child.once('exit', (code) => resolve(code)));
    worker.child.kill('SIGTERM');
    const late = new Promise<'still running'>((resolve) => setTimeout(() => resolve('still running'), limitMs).unref());
    return Promise.race([exited, late]).then((code) => ({ code, ms: Math.round(performance.now() - started) }));
  }

  function expectShuttingDown(reply: Reply | string): void {
    expect(typeof reply, String(reply)).to.equal('object');
    const answered = reply as Reply;
    expect(answered.status, answered.text).to.equal(503);
    expect(answered.headers.get('retry-after')).to.equal('1');
    expect(answered.body).to.include({ error: 'shutting_down', message: 'This worker is shutting down.' });
  }

  it('stops a long statement on the server, answers it 503 shutting_down and exits 0 in time', async () => {
    const worker = await stack.addWorker({ SHUTDOWN_TIMEOUT_MS: String(SHUTDOWN_TIMEOUT_MS) });
    try {
      const inFlight = request(`${worker.url}/sleep/30`).catch((error: Error) => error.message);
      await waitFor(
        'the SLEEP to run on the server',
        async () => ((await appStatements()).some((info) => info.includes('SLEEP')) ? true : undefined),
        3_000,
      );

      const exit = await terminate(worker, SHUTDOWN_TIMEOUT_MS + 3_000);
      measured.sleepingWorkerExit = exit.ms;
      expect(exit.code, worker.output()).to.equal(0);
      expect(exit.ms).to.be.below(SHUTDOWN_TIMEOUT_MS + 1_000);
      expectShuttingDown(await inFlight);
      expect(await appStatements()).to.deep.equal([]);
      expect(worker.output()).not.to.contain('"level":"error"');
    } finally {
      await worker.stop('SIGKILL');
    }
  });

  it('answers a request still connecting through a frozen proxy 503 shutting_down, logs no error, and exits 0 in time', async () => {
    const worker = await stack.addWorker({ SHUTDOWN_TIMEOUT_MS: String(SHUTDOWN_TIMEOUT_MS) });
    try {
      // The pool's connection is gone, so the next request must open one: through a frozen HAProxy, that
      // takes until DB_CONNECT_TIMEOUT_MS (3 s), past the shutdown timeout.
      const [sessions] = await admin.query<mysql.RowDataPacket[]>(
        'SELECT ID FROM information_schema.PROCESSLIST WHERE USER = ?',
        [stack.settings.database.appUser],
      );
      for (const session of sessions) await admin.query(`KILL ${Number(session.ID)}`);
      await waitFor(
        'the pool to notice its connection is gone',
        async () => (((await request(`${worker.url}/pool`)).body as { open: number }).open === 0 ? true : undefined),
        3_000,
      );
      stack.haproxy.pause();
      const connecting = request(`${worker.url}/todos`).catch((error: Error) => error.message);
      await waitFor(
        'the request to be connecting',
        async () =>
          ((await request(`${worker.url}/pool`)).body as { pending: number }).pending === 1 ? true : undefined,
        1_000,
      );

      const exit = await terminate(worker, SHUTDOWN_TIMEOUT_MS + 3_000);
      measured.connectingWorkerExit = exit.ms;
      expectShuttingDown(await connecting);
      expect(exit.code, worker.output()).to.equal(0);
      expect(exit.ms).to.be.below(SHUTDOWN_TIMEOUT_MS + 1_000);
      expect(worker.output()).not.to.contain('"level":"error"');
      expect(worker.output()).not.to.contain('Pool is closed');
    } finally {
      stack.haproxy.resume();
      await worker.stop('SIGKILL');
    }
  });
});

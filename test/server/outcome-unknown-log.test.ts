// A 504 outcome_unknown (a write sent, then its connection lost) writes one error log line with the
// request's id, as a 500 does: the operator's way from a client's report to what happened. On a stack of
// its own: MariaDB is SIGKILLed under a write held on the server by a table lock.
import { expect } from 'chai';
import type mysql from 'mysql2/promise';
import { request } from '../support/http';
import { startTestStack, type TestStack } from '../support/stack';
import { waitFor } from '../support/wait';

describe('POST /todos answered 504 outcome_unknown', function () {
  this.timeout(60_000);
  let stack: TestStack;
  let locker: mysql.Connection | undefined;

  before(async () => {
    stack = await startTestStack({ workers: 1 });
  });

  after(async () => {
    await locker?.end().catch(() => undefined);
    await stack?.stop();
  });

  it('writes an error log line with the request id', async () => {
    const worker = stack.workers[0]!;
    locker = await stack.admin();
    await locker.query('LOCK TABLES todos WRITE');
    const inFlight = request(`${worker.url}/todos`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-request-id': 'outcome-unknown-1' },
      body: JSON.stringify({ item: 'held by the lock' }),
    });
    await waitFor(
      'the INSERT to wait for the lock',
      async () => {
        const [rows] = await locker!.query<mysql.RowDataPacket[]>(
          "SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST WHERE INFO LIKE 'INSERT INTO todos%'",
        );
        return Number(rows[0]!.n) === 1 ? true : undefined;
      },
      5_000,
    );
    stack.mariadb.kill();
    const reply = await inFlight;
    expect(reply.status, reply.text).to.equal(504);
    expect(reply.body).to.include({ error: 'outcome_unknown', requestId: 'outcome-unknown-1' });

    const line = await waitFor(
      'the error log line',
      () =>
        worker
          .output()
          .split('\n')
          .filter((l) => l.startsWith('{'))
          .map((l) => JSON.parse(l) as Record<string, unknown>)
          .find((l) => l.level === 'error' && l.requestId === 'outcome-unknown-1'),
      5_000,
    );
    expect(line).to.include({ msg: 'write outcome unknown', method: 'POST', path: '/todos' });
    expect(line.error)
      .to.be.a('string')
      .and.match(/may have been applied/);
    await stack.mariadb.restart();
  });
});

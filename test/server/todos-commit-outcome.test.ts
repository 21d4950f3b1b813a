// A PATCH whose COMMIT is held up must never be answered as a plain failure (504 query_timeout, 503
// database_unavailable) when its value then ends up in the row. A slow but healthy server stops the
// COMMIT itself within the query timeout (rolled back: a true failure); when the worker has to close the
// connection while the COMMIT may still run, the answer says so (504 outcome_unknown). On a stack of its
// own: the tests block every commit on the server (BACKUP STAGE BLOCK_COMMIT) and pause HAProxy.
import { expect } from 'chai';
import type mysql from 'mysql2/promise';
import type { ResultSetHeader } from 'mysql2';
import { sendJson, type Reply } from '../support/http';
import { startTestStack, type TestStack } from '../support/stack';
import { waitFor } from '../support/wait';

const PLAIN_FAILURES = new Set(['query_timeout', 'database_unavailable']);

describe('PATCH /todos/:id while commits are held up', function () {
  this.timeout(60_000);
  let stack: TestStack;
  let admin: mysql.Connection;
  let backup: mysql.Connection;
  let locker: mysql.Connection;
  let id = 0;
  const measured: Record<string, number> = {};

  before(async () => {
    stack = await startTestStack({ workers: 0 });
    admin = await stack.admin();
    backup = await stack.admin();
    locker = await stack.admin();
  });

  beforeEach(async () => {
    const [inserted] = await admin.query<ResultSetHeader>(
      "INSERT INTO todos (item, status) VALUES ('original', 'pending')",
    );
    id = inserted.insertId;
  });

  afterEach(async () => {
    stack.haproxy.resume();
    await backup.query('BACKUP STAGE END').catch(() => undefined);
    await locker.query('ROLLBACK');
  });

  after(async () => {
    console.log(`      measured (ms): ${JSON.stringify(measured)}`);
    for (const connection of [admin, backup, locker]) await connection?.end();
    await stack?.stop();
  });

  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

  async function storedItem(): Promise<string> {
    const [rows] = await admin.query<mysql.RowDataPacket[]>('SELECT item FROM todos WHERE id = ?', [id]);
    return String(rows[0]!.item);
  }

  /** What the app's sessions are running now. */
  async function appStatements(): Promise<string[]> {
    const [rows] = await admin.query<mysql.RowDataPacket[]>(
      'SELECT INFO FROM information_schema.PROCESSLIST WHERE USER = ? AND INFO IS NOT NULL',
      [stack.settings.database.appUser],
    );
    return rows.map((row) => String(row.INFO));
  }

  function expectNoFalseFailure(reply: Reply, stored: string): void {
    const error = (reply.body as { error?: string }).error ?? '';
    expect(
      PLAIN_FAILURES.has(error) && stored === 'patched',
      `told ${reply.status} ${error}, yet the row holds the PATCH's value`,
    ).to.equal(false);
  }

  it('has the server stop a COMMIT that outlasts the query timeout: 504 query_timeout, and the row keeps its value', async () => {
    const worker = await stack.addWorker({ SLEEP_MAX_SECONDS: '1', DB_QUERY_TIMEOUT_MS: '6000' });
    await locker.query('START TRANSACTION');
    await locker.query('SELECT * FROM todos WHERE id = ? FOR UPDATE', [id]);

    const started = performance.now();
    const patched = sendJson(`${worker.url}/todos/${id}`, 'PATCH', { item: 'patched' });
    // The row lock costs the PATCH 2 s of its 6 s; then its COMMIT waits for the backup lock until 7.5 s:
    // past the budget, but before a full 6 s statement limit counted from the COMMIT's start would end it.
    await sleep(2_000);
    await backup.query('BACKUP STAGE START');
    await backup.query('BACKUP STAGE BLOCK_COMMIT');
    await locker.query('ROLLBACK');
    const reply = await patched;
    measured.commitHeldReply = Math.round(performance.now() - started);
    await sleep(Math.max(0, 7_500 - (performance.now() - started)));
    await backup.query('BACKUP STAGE END');
    await sleep(500);
    const stored = await storedItem();

    expectNoFalseFailure(reply, stored);
    expect(reply.status, reply.text).to.equal(504);
    expect(reply.body).to.include({
      error: 'query_timeout',
      message: 'Query "update_todo" did not finish within 6000 ms; the database stopped it.',
    });
    // The server's limit, not the worker's backstop a second later.
    expect(measured.commitHeldReply).to.be.at.least(5_900).and.below(6_800);
    expect(stored).to.equal('original');
    expect(await appStatements()).to.deep.equal([]);
    await worker.stop();
  });

  it('answers 504 outcome_unknown when the COMMIT may have gone through after the worker gave up on it', async () => {
    const worker = await stack.addWorker({
      SLEEP_MAX_SECONDS: '1',
      DB_QUERY_TIMEOUT_MS: '3000',
      DB_LOCK_WAIT_TIMEOUT_SECONDS: '1',
    });
    await backup.query('BACKUP STAGE START');
    await backup.query('BACKUP STAGE BLOCK_COMMIT');

    const started = performance.now();
    const patched = sendJson(`${worker.url}/todos/${id}`, 'PATCH', { item: 'patched' });
    await waitFor(
      'the PATCH to wait in its COMMIT',
      async () => ((await appStatements()).some((info) => info.endsWith('COMMIT')) ? true : undefined),
      3_000,
    );
    // The server commits, but its answer stays in the frozen proxy: the worker never learns of it.
    stack.haproxy.pause();
    await backup.query('BACKUP STAGE END');
    const reply = await patched;
    measured.unconfirmedCommitReply = Math.round(performance.now() - started);
    stack.haproxy.resume();
    const stored = await storedItem();

    expectNoFalseFailure(reply, stored);
    expect(stored).to.equal('patched');
    expect(reply.status, `${reply.text} after ${measured.unconfirmedCommitReply} ms`).to.equal(504);
    expect(reply.headers.get('retry-after')).to.equal(null);
    expect(reply.body).to.include({
      error: 'outcome_unknown',
      message:
        'The database did not confirm the write before its connection was lost or had to be closed; it may have been applied. Read the current state before retrying.',
    });
    // The worker's backstop: the 3 s budget and 1 s more.
    expect(measured.unconfirmedCommitReply).to.be.at.least(3_900).and.below(4_800);
    await worker.stop();
  });
});

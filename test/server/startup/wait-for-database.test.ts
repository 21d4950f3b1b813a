// A worker reports ready only once the database answers through HAProxy AND has the newest migration.
import { readdirSync } from 'node:fs';
import { expect } from 'chai';
import { backoffDelayMs } from '../../../server/startup/wait-for-database';
import { latestMigration, SQL_DIR } from '../../../server/startup/schema';
import { request } from '../../support/http';
import { sharedStack } from '../../support/stack';

async function eventually(check: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`condition not met in ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('backoffDelayMs(attempt)', () => {
  it('doubles from 200 ms and stops at 5 s', () => {
    expect([1, 2, 3, 4, 5, 6, 7, 20].map((attempt) => backoffDelayMs(attempt))).to.deep.equal([
      200, 400, 800, 1600, 3200, 5000, 5000, 5000,
    ]);
  });
});

describe('latestMigration()', () => {
  it('names the newest numbered file in sql/', () => {
    const latest = latestMigration();
    expect(latest).to.match(/^V\d{3}__[a-z_]+\.sql$/);
    const numbered = readdirSync(SQL_DIR).filter((name) => /^V\d+__/.test(name));
    expect(numbered.every((name) => name <= latest)).to.equal(true);
  });
});

describe('a worker starting before the newest migration is applied', function () {
  this.timeout(60_000);

  it('keeps retrying, says why, and reports ready once the migration is recorded', async () => {
    const stack = await sharedStack();
    const admin = await stack.admin();
    const latest = latestMigration();
    try {
      await admin.query('DELETE FROM schema_migrations WHERE name = ?', [latest]);
      // Listening, not ready: the worker answers HTTP while it waits for its schema.
      const worker = await stack.addWorker({}, 'listening');
      let sentReady = false;
      const ready = new Promise<void>((resolve) => worker.child.on('message', (m) => m === 'ready' && resolve()));
      void ready.then(() => (sentReady = true));
      await eventually(() => worker.output().includes(`migration ${latest} is not applied yet`), 20_000);
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(sentReady, 'ready before its migration was applied').to.equal(false);

      await admin.query('INSERT INTO schema_migrations (name) VALUES (?)', [latest]);
      await ready;
      expect((await request(`${worker.url}/todos`)).status).to.equal(200);
      await worker.stop();
    } finally {
      await admin.query('INSERT IGNORE INTO schema_migrations (name) VALUES (?)', [latest]);
      await admin.end();
    }
  });
});

// Ten SIGKILLs of mariadbd under keyed and unkeyed POST /todos over two workers. Each restart does what
// the stack's database app does on every start (cluster/database/server.ts): start mariadbd, then
// migrate() at once, while the workers reconnect. Every answer must be one a client can act on: never a
// 500. Before grants.ts, the R__users.sql of each start revoked the app user's grants and granted them
// again, and the writes that arrived in between were answered 500 ("INSERT command denied").
import { expect } from 'chai';
import type mysql from 'mysql2/promise';
import { migrate } from '../../cluster/database/migrate';
import { request } from '../support/http';
import { startTestStack, type TestStack } from '../support/stack';
import { waitFor } from '../support/wait';

const KILLS = 10;
const CLIENTS = 8;
/** Answered POSTs between one restart and the next kill: the workers write to the restarted server. */
const ANSWERS_BETWEEN_KILLS = 30;
/** A bound on the load, whatever happens: far above what ten rounds need. */
const MAX_POSTS = 40_000;

const ACCEPTABLE = new Set([
  '201',
  '409 idempotency_key_in_use',
  '503 database_unavailable',
  '503 pool_timeout',
  '503 pool_queue_full',
  '504 outcome_unknown',
]);

describe('POST /todos while mariadbd is SIGKILLed and restarted ten times', function () {
  this.timeout(300_000);
  let stack: TestStack;

  before(async () => {
    stack = await startTestStack({ workers: 2 });
  });

  after(async () => {
    await stack?.stop();
  });

  it('answers no 500: every answer is JSON, 201 or a 503/504 to act on', async () => {
    const tag = `restarts-${Date.now()}`;
    const counts: Record<string, number> = {};
    const acknowledged: string[] = [];
    const failures: string[] = [];
    let sent = 0;
    let answered201 = 0;
    let stopping = false;
    const client = async (id: number) => {
      while (!stopping && sent < MAX_POSTS) {
        const n = sent++;
        const item = `${tag}-${id}-${n}`;
        // Every second POST keyed: the key path (test.idempotency_keys) as well as the plain INSERT.
        const headers: Record<string, string> = { 'content-type': 'application/json' };
        if (n % 2 === 0) headers['idempotency-key'] = item;
        let answer: string;
        try {
          const reply = await request(`${stack.workers[n % 2]!.url}/todos`, {
            method: 'POST',
            headers,
            body: JSON.stringify({ item }),
            signal: AbortSignal.timeout(20_000),
          });
          const body = reply.body as { error?: string; message?: string };
          answer =
            reply.status === 201
              ? '201'
              : `${reply.status} ${typeof reply.body === 'object' ? body.error : 'not JSON'}`;
          if (!ACCEPTABLE.has(answer)) failures.push(`${answer}: ${body.message ?? reply.text.slice(0, 200)}`);
        } catch (error) {
          answer = `no answer (${(error as Error).name})`;
          failures.push(answer);
        }
        counts[answer] = (counts[answer] ?? 0) + 1;
        if (answer === '201') {
          answered201 += 1;
          acknowledged.push(item);
        }
      }
    };
    const clients = Array.from({ length: CLIENTS }, (_, id) => client(id));
    try {
      const writesFlow = async (what: string, count: number) => {
        const before = answered201;
        await waitFor(what, () => (answered201 - before >= count ? true : undefined), 60_000, 5);
      };
      for (let kill = 0; kill < KILLS; kill += 1) {
        await writesFlow(`${ANSWERS_BETWEEN_KILLS} writes before kill ${kill + 1}`, ANSWERS_BETWEEN_KILLS);
        stack.mariadb.kill();
        await stack.mariadb.restart();
        // As the database app does on every start. HAProxy here marked the server down and routes to it
        // again only after its next check (~1 s), by when this is done...
        await migrate(stack.settings, stack.mariadb.admin);
        // ...so once more while the workers write to it: a start HAProxy did not see (a restart within
        // its check interval) or `npm run db:migrate` on a serving stack.
        await writesFlow(`the first write after restart ${kill + 1}`, 1);
        await migrate(stack.settings, stack.mariadb.admin);
      }
      await writesFlow('writes after the last restart', ANSWERS_BETWEEN_KILLS);
    } finally {
      stopping = true;
      await Promise.all(clients);
    }
    console.log(`      ${sent} POSTs over ${KILLS} kills: ${JSON.stringify(counts)}`);
    expect(failures.slice(0, 10), `${failures.length} answers no client can act on`).to.deep.equal([]);
    expect(counts['201']).to.be.above(KILLS * ANSWERS_BETWEEN_KILLS);
    const admin = await stack.admin();
    try {
      const [rows] = await admin.query<mysql.RowDataPacket[]>(
        'SELECT item, COUNT(*) AS n FROM todos WHERE item LIKE ? GROUP BY item',
        [`${tag}-%`],
      );
      const stored = new Map(rows.map((row) => [String(row.item), Number(row.n)]));
      expect(
        [...stored].filter(([, n]) => n > 1),
        'rows stored twice',
      ).to.deep.equal([]);
      expect(
        acknowledged.filter((item) => !stored.has(item)),
        'answered 201 but not stored',
      ).to.deep.equal([]);
    } finally {
      await admin.end();
    }
  });
});

// The queue bounded by the wait it protects (issue 16 item 5) on a real worker with its default settings:
// 64 concurrent clients of *distinct* pages (a random cursor each: no two share a statement) are never
// refused, where counting statements refused those past the 50th waiting. The /sleep burst that the
// statement limit still refuses at the 51st is tested in todos-coalesced-reads.test.ts.
import { expect } from 'chai';
import { request } from '../support/http';
import type { TestStack } from '../support/stack';
import { ownStack } from './todos-helpers';

const FILLER_ROWS = 5000;
const CLIENTS = 64;
const REQUESTS_EACH = 20;

async function addFiller(stack: TestStack, rows: number) {
  const connection = await stack.admin();
  try {
    await connection.query(
      `INSERT INTO todos (item, status) SELECT CONCAT('filler ', seq), IF(seq % 2, 'done', 'pending') FROM seq_1_to_${rows}`,
    );
  } finally {
    await connection.end();
  }
}

async function refusals(base: string): Promise<Record<string, number>> {
  const lines = (await request(`${base}/metrics`)).text.split('\n');
  const refused: Record<string, number> = {};
  for (const reason of ['queue_full', 'statement_queue_full', 'timeout']) {
    refused[reason] = lines
      .filter((line) => line.startsWith('db_pool_rejected_total{') && line.includes(`reason="${reason}"`))
      .reduce((sum, line) => sum + Number(line.slice(line.lastIndexOf(' ') + 1)), 0);
  }
  return refused;
}

describe('The pool queue with its default settings under 64 clients of distinct pages', function () {
  this.timeout(120_000);
  const stack = ownStack({ workers: 1 });

  before(() => addFiller(stack(), FILLER_ROWS));

  it('refuses none of GET /todos?limit=20&after=<random> (before: those past 50 waiting were 503 pool_queue_full)', async () => {
    const { url } = stack().workers[0]!;
    // The page statement's service time is measured once: a kind never seen counts as slow.
    expect((await request(`${url}/todos?limit=20&after=10`)).status).to.equal(200);
    const statuses: Record<number, number> = {};
    await Promise.all(
      Array.from({ length: CLIENTS }, async () => {
        for (let i = 0; i < REQUESTS_EACH; i += 1) {
          const after = Math.floor(Math.random() * FILLER_ROWS);
          const reply = await request(`${url}/todos?limit=20&after=${after}`);
          statuses[reply.status] = (statuses[reply.status] ?? 0) + 1;
        }
      }),
    );
    expect(statuses).to.deep.equal({ 200: CLIENTS * REQUESTS_EACH });
    expect(await refusals(url)).to.deep.equal({ queue_full: 0, statement_queue_full: 0, timeout: 0 });
  });
});

// GET /todos/:id with coalesced point reads (issue 16) on real workers with their default settings:
// reads of different ids queued together share one SELECT ... WHERE id IN (...), every client that writes
// and then reads sees its write (through one worker and across two), each read gets its own row or its
// own 404, and 64 concurrent clients of fast reads are never refused by the queue, which still refuses
// a statement of its own past DB_QUEUE_STATEMENT_LIMIT.
import { expect } from 'chai';
import { request, type Reply } from '../support/http';
import type { TestStack } from '../support/stack';
import { waitFor } from '../support/wait';
import { createTodo, ownStack, sendJson, type Todo } from './todos-helpers';

const FILLER_ROWS = 2000;

/** Sum and count of db_read_batch_size for one kind on one worker, and its pool refusals by reason. */
async function workerFigures(
  base: string,
  kind: string,
): Promise<{ sum: number; count: number; refused: Record<string, number> }> {
  const lines = (await request(`${base}/metrics`)).text.split('\n');
  const total = (series: string, label: string) =>
    lines
      .filter((line) => line.startsWith(`${series}{`) && line.includes(label))
      .reduce((sum, line) => sum + Number(line.slice(line.lastIndexOf(' ') + 1)), 0);
  const refused: Record<string, number> = {};
  for (const reason of ['queue_full', 'statement_queue_full', 'timeout'])
    refused[reason] = total('db_pool_rejected_total', `reason="${reason}"`);
  return {
    sum: total('db_read_batch_size_sum', `kind="${kind}"`),
    count: total('db_read_batch_size_count', `kind="${kind}"`),
    refused,
  };
}

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

describe('GET /todos/:id with coalesced reads: read-your-writes under concurrent load', function () {
  this.timeout(120_000);
  const stack = ownStack({ workers: 2 });
  const WRITERS = 12;
  const ROUNDS = 12;
  const READERS = 16;

  before(() => addFiller(stack(), FILLER_ROWS));

  /**
   * WRITERS clients, each on its own row: PATCH a unique value through `writeVia`, then at once GET it
   * back through `readVia`; every third round also POST a row and GET it, and DELETE it and GET its 404.
   * READERS more clients keep reading random ids (some that do not exist) meanwhile, so reads of
   * different ids queue together and share statements.
   */
  async function writeThenRead(
    writeVia: (client: number) => string,
    readVia: (client: number) => string,
  ): Promise<void> {
    const own: Todo[] = [];
    for (let client = 0; client < WRITERS; client += 1) {
      own.push((await createTodo(writeVia(client), { item: `start ${client}`, status: 'pending' })).todo);
    }
    let writing = true;
    const misses: string[] = [];
    const writer = async (client: number) => {
      const id = own[client]!.id;
      for (let round = 0; round < ROUNDS; round += 1) {
        const item = `client ${client} round ${round} ${Math.random().toString(36).slice(2)}`;
        const patched = await sendJson(`${writeVia(client)}/todos/${id}`, 'PATCH', { item });
        expect(patched.status, patched.text).to.equal(200);
        const read = await request(`${readVia(client)}/todos/${id}`);
        if (read.status !== 200 || (read.body as Todo).item !== item)
          misses.push(`GET /todos/${id} gave ${read.status} ${read.text} after writing "${item}"`);
        if (round % 3 === 0) {
          const { todo } = await createTodo(writeVia(client), { item, status: 'done' });
          const fresh = await request(`${readVia(client)}/todos/${todo.id}`);
          if (fresh.status !== 200 || (fresh.body as Todo).item !== item)
            misses.push(`GET /todos/${todo.id} gave ${fresh.status} right after its POST`);
          const deleted = await request(`${writeVia(client)}/todos/${todo.id}`, { method: 'DELETE' });
          expect(deleted.status, deleted.text).to.equal(204);
          const gone = await request(`${readVia(client)}/todos/${todo.id}`);
          if (gone.status !== 404) misses.push(`GET /todos/${todo.id} gave ${gone.status} right after its DELETE`);
        }
      }
    };
    const reader = async (client: number) => {
      while (writing) {
        const id = 1 + Math.floor(Math.random() * (FILLER_ROWS + 2));
        const reply = await request(`${readVia(client)}/todos/${id}`);
        expect(reply.status, reply.text).to.equal(200);
        expect((reply.body as Todo).id).to.equal(id);
        const absent = await request(`${readVia(client)}/todos/${900_000 + id}`);
        expect(absent.status, absent.text).to.equal(404);
      }
    };
    const readers = Array.from({ length: READERS }, (_, client) => reader(client));
    try {
      await Promise.all(Array.from({ length: WRITERS }, (_, client) => writer(client)));
    } finally {
      writing = false;
      await Promise.all(readers);
    }
    expect(misses).to.deep.equal([]);
  }

  it('through one worker: each client sees its write in its next read, and reads of different ids shared statements', async () => {
    const { url } = stack().workers[0]!;
    const before = await workerFigures(url, 'coalesced');
    await writeThenRead(
      () => url,
      () => url,
    );
    const after = await workerFigures(url, 'coalesced');
    expect(after.sum - before.sum).to.be.above(after.count - before.count);
  });

  it('across two workers: written through one, read through the other, seen at once', async () => {
    const urls = stack().workers.map((worker) => worker.url);
    const before = await Promise.all(urls.map((url) => workerFigures(url, 'coalesced')));
    await writeThenRead(
      (client) => urls[client % 2]!,
      (client) => urls[(client + 1) % 2]!,
    );
    const after = await Promise.all(urls.map((url) => workerFigures(url, 'coalesced')));
    const shared = after.reduce((n, a, i) => n + (a.sum - before[i]!.sum) - (a.count - before[i]!.count), 0);
    expect(shared).to.be.above(0);
  });
});

describe('The pool queue with its default settings under 64 concurrent clients of one worker', function () {
  this.timeout(120_000);
  const stack = ownStack({ workers: 1 });
  const CLIENTS = 64;
  const REQUESTS_EACH = 25;

  before(() => addFiller(stack(), 500));

  /** CLIENTS clients, each sending REQUESTS_EACH requests one after the other; the statuses seen. */
  async function load(path: () => string): Promise<Record<number, number>> {
    const { url } = stack().workers[0]!;
    const statuses: Record<number, number> = {};
    await Promise.all(
      Array.from({ length: CLIENTS }, async () => {
        for (let i = 0; i < REQUESTS_EACH; i += 1) {
          const reply: Reply = await request(`${url}${path()}`);
          statuses[reply.status] = (statuses[reply.status] ?? 0) + 1;
        }
      }),
    );
    return statuses;
  }

  it('refuses none of GET /todos/:id with random ids (before: most were 503 pool_queue_full)', async () => {
    const before = await workerFigures(stack().workers[0]!.url, 'coalesced');
    expect(await load(() => `/todos/${1 + Math.floor(Math.random() * 502)}`)).to.deep.equal({
      200: CLIENTS * REQUESTS_EACH,
    });
    const after = await workerFigures(stack().workers[0]!.url, 'coalesced');
    expect(after.refused).to.deep.equal({ queue_full: 0, statement_queue_full: 0, timeout: 0 });
    expect(after.sum - before.sum).to.equal(CLIENTS * REQUESTS_EACH);
  });

  it('refuses none of GET /todos', async () => {
    expect(await load(() => '/todos')).to.deep.equal({ 200: CLIENTS * REQUESTS_EACH });
    expect((await workerFigures(stack().workers[0]!.url, 'identical')).refused).to.deep.equal({
      queue_full: 0,
      statement_queue_full: 0,
      timeout: 0,
    });
  });

  it('still refuses the 51st waiting /sleep at once, each one a statement of its own', async () => {
    const { url } = stack().workers[0]!;
    const holder = request(`${url}/sleep/1`);
    await waitFor(
      'the sleep to hold the connection',
      async () => (((await request(`${url}/pool`)).body as { used: number }).used === 1 ? true : undefined),
      5_000,
    );
    const queued = Array.from({ length: 50 }, () => request(`${url}/sleep/0`));
    await waitFor(
      '50 sleeps waiting',
      async () => (((await request(`${url}/pool`)).body as { pending: number }).pending === 50 ? true : undefined),
      5_000,
    );
    const started = performance.now();
    const refused = await request(`${url}/sleep/0`);
    expect(performance.now() - started).to.be.below(200);
    expect(refused.status).to.equal(503);
    expect(refused.body).to.deep.include({
      error: 'pool_queue_full',
      message: "The connection pool's wait queue is full (50 statements waiting).",
    });
    expect((await holder).status).to.equal(200);
    expect((await Promise.all(queued)).map((reply) => reply.status)).to.deep.equal(Array(50).fill(200));
    expect((await workerFigures(url, 'identical')).refused).to.deep.equal({
      queue_full: 0,
      statement_queue_full: 1,
      timeout: 0,
    });
  });
});

describe('The pool queue past DB_QUEUE_STATEMENT_LIMIT (2)', function () {
  this.timeout(60_000);
  const stack = ownStack({ workers: 1, workerEnv: { DB_QUEUE_STATEMENT_LIMIT: '2', DB_ACQUIRE_TIMEOUT_MS: '5000' } });

  async function pending(url: string, count: number): Promise<void> {
    await waitFor(
      `${count} requests waiting`,
      async () => {
        const pool = (await request(`${url}/pool`)).body as { pending: number };
        return pool.pending === count ? true : undefined;
      },
      5_000,
    );
  }

  it('answers a /sleep of its own 503 pool_queue_full at once, while 30 reads of different ids wait as one statement', async () => {
    const { url } = stack().workers[0]!;
    const holder = request(`${url}/sleep/1`);
    await waitFor(
      'the sleep to hold the connection',
      async () => (((await request(`${url}/pool`)).body as { used: number }).used === 1 ? true : undefined),
      5_000,
    );
    const reads = Array.from({ length: 30 }, (_, i) =>
      request(`${url}/todos/${i % 3 === 0 ? 900_000 + i : 1 + (i % 2)}`),
    );
    const queuedSleep = request(`${url}/sleep/0`);
    await pending(url, 31);
    const started = performance.now();
    const refused = await request(`${url}/sleep/0`);
    const tookMs = performance.now() - started;
    expect(refused.status).to.equal(503);
    expect(refused.headers.get('retry-after')).to.equal('1');
    expect(refused.body).to.deep.include({
      error: 'pool_queue_full',
      message: "The connection pool's wait queue is full (2 statements waiting).",
    });
    expect(tookMs).to.be.below(200);
    expect((await holder).status).to.equal(200);
    expect((await queuedSleep).status).to.equal(200);
    expect((await Promise.all(reads)).map((reply) => reply.status)).to.deep.equal(
      Array.from({ length: 30 }, (_, i) => (i % 3 === 0 ? 404 : 200)),
    );
    expect((await workerFigures(url, 'coalesced')).refused).to.deep.equal({
      queue_full: 0,
      statement_queue_full: 1,
      timeout: 0,
    });
  });
});

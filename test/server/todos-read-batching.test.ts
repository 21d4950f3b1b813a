// Read batching (DB_READ_BATCHING) keeps read-your-writes: under concurrent load, with identical reads
// sharing statements, every client that writes a unique value and then reads sees its write, always,
// through one worker and across two. The metrics prove that statements were shared meanwhile.
import { expect } from 'chai';
import { request } from '../support/http';
import { createTodo, ownStack, sendJson, type Todo } from './todos-helpers';

const WRITERS = 12;
const ROUNDS = 12;
const READERS = 8;
const FILLER_ROWS = 2000;

/** Requests served per batched statement on one worker so far: sum and count of db_read_batch_size. */
async function batchSizes(base: string): Promise<{ sum: number; count: number }> {
  const text = (await request(`${base}/metrics`)).text;
  const total = (series: string) =>
    text
      .split('\n')
      .filter((line) => line.startsWith(`${series}{`))
      .reduce((sum, line) => sum + Number(line.slice(line.lastIndexOf(' ') + 1)), 0);
  return { sum: total('db_read_batch_size_sum'), count: total('db_read_batch_size_count') };
}

describe('/todos with read batching on: read-your-writes under concurrent load', function () {
  this.timeout(120_000);
  const stack = ownStack({ workers: 2, workerEnv: { DB_READ_BATCHING: '1', DB_QUEUE_LIMIT: '1000' } });

  // A list long enough (a few ms per SELECT) that a statement already in flight when a client's write
  // commits elsewhere is likely still running when that client's read arrives: a read that joined it
  // would miss the write. (Through one worker the write itself waits for that worker's connection.)
  before(async () => {
    const admin = await stack().admin();
    try {
      const rows = Array.from({ length: FILLER_ROWS }, (_, i) => [`filler ${i} ${'x'.repeat(40)}`, 'done']);
      await admin.query('INSERT INTO todos (item, status) VALUES ?', [rows]);
    } finally {
      await admin.end();
    }
  });

  /**
   * WRITERS clients, each on its own row: write a unique value through `writeVia`, then at once read it
   * back through `readVia` (the row, and the list), and a new row of its own (POST, then GET). READERS
   * more clients keep GET /todos and GET /todos/:id busy meanwhile, so reads queue and share statements.
   */
  async function writeThenRead(
    writeVia: (client: number) => string,
    readVia: (client: number) => string,
  ): Promise<void> {
    const own: Todo[] = [];
    for (let client = 0; client < WRITERS; client += 1) {
      own.push((await createTodo(writeVia(client), { item: `start ${client}`, status: 'pending' })).todo);
    }
    // One page every client reads (so their reads batch): the 900 rows before the clients' own rows, then
    // those and what they POST below (at most 4 each), all within the 1000 of one page.
    const list = `/todos?limit=1000&after=${Math.max(0, own[0]!.id - 901)}`;
    let writing = true;
    const misses: string[] = [];
    const writer = async (client: number) => {
      const id = own[client]!.id;
      for (let round = 0; round < ROUNDS; round += 1) {
        const item = `client ${client} round ${round} ${Math.random().toString(36).slice(2)}`;
        const patched = await sendJson(`${writeVia(client)}/todos/${id}`, 'PATCH', { item });
        expect(patched.status, patched.text).to.equal(200);
        const [one, all] = await Promise.all([
          request(`${readVia(client)}/todos/${id}`),
          request(`${readVia(client)}${list}`),
        ]);
        expect([one.status, all.status]).to.deep.equal([200, 200]);
        if ((one.body as Todo).item !== item)
          misses.push(`GET /todos/${id} gave ${JSON.stringify(one.body)} after writing "${item}"`);
        const listed = (all.body as Record<string, { item: string }>)[String(id)];
        if (listed?.item !== item)
          misses.push(`GET ${list} gave ${JSON.stringify(listed)} for ${id} after writing "${item}"`);
        if (round % 3 === 0) {
          const { todo } = await createTodo(writeVia(client), { item, status: 'done' });
          const fresh = await request(`${readVia(client)}/todos/${todo.id}`);
          if (fresh.status !== 200) misses.push(`GET /todos/${todo.id} gave ${fresh.status} right after its POST`);
        }
      }
    };
    const reader = async (client: number) => {
      while (writing) {
        const target = own[client % own.length]!.id;
        const replies = await Promise.all([
          request(`${readVia(client)}${list}`),
          request(`${readVia(client)}/todos/${target}`),
        ]);
        for (const reply of replies) expect(reply.status, reply.text).to.equal(200);
      }
    };
    const readers = Array.from({ length: READERS }, (_, client) => reader(client));
    try {
      await Promise.all(Array.from({ length: WRITERS }, (_, client) => writer(client)));
    } finally {
      writing = false;
      await Promise.allSettled(readers);
    }
    expect(misses).to.deep.equal([]);
  }

  it('through one worker: each client sees its write in its next read, and statements were shared', async () => {
    const { url } = stack().workers[0]!;
    const before = await batchSizes(url);
    await writeThenRead(
      () => url,
      () => url,
    );
    const after = await batchSizes(url);
    // More requests served than statements sent: reads did share statements during the run.
    expect(after.sum - before.sum).to.be.above(after.count - before.count);
  });

  it('across two workers: written through one, read through the other, seen at once', async () => {
    const urls = stack().workers.map((worker) => worker.url);
    const before = await Promise.all(urls.map(batchSizes));
    await writeThenRead(
      (client) => urls[client % 2]!,
      (client) => urls[(client + 1) % 2]!,
    );
    const after = await Promise.all(urls.map(batchSizes));
    const shared = after.reduce((n, a, i) => n + (a.sum - before[i]!.sum) - (a.count - before[i]!.count), 0);
    expect(shared).to.be.above(0);
  });
});

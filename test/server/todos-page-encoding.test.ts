// One encoding per read batch: identical GET /todos requests that queue together share one statement
// (read batching) and then one JSON body; nothing stringifies the same rows twice. The real app
// (createApp) over a real Db on a real MariaDB, in this process, so the page's encoder and JSON.stringify
// itself can be counted.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect } from 'chai';
import mysql from 'mysql2/promise';
import { createApp } from '../../server/app';
import { Db } from '../../server/db/db';
import { DbPool } from '../../server/db/pool';
import { keyedPageJson, PageEncoder } from '../../server/todos/page';
import type { Todo } from '../../server/todos/repository';
import { request, type Reply } from '../support/http';
import { useMigratedMariaDb } from '../support/migrated-mariadb';
import { RecordingObserver } from '../support/recording-observer';
import { waitFor } from '../support/wait';

const SEED = '{"1":{"item":"task1","status":"pending"},"2":{"item":"task2","status":"done"}}';

describe('PageEncoder.encode(rows, query)', () => {
  const rows: Todo[] = [
    { id: 4, item: 'a "quoted" ✓', status: 'done' },
    { id: 9, item: 'b', status: 'pending' },
    { id: 12, item: 'c', status: 'done' },
  ];

  it('encodes an array once, however often it is asked, and gives back the same Buffer', () => {
    const calls: unknown[] = [];
    const encoder = new PageEncoder((page) => {
      calls.push(page);
      return keyedPageJson(page);
    });
    const first = encoder.encode(rows, { after: 0, limit: 2 });
    expect(first.body.toString()).to.equal(
      '{"4":{"item":"a \\"quoted\\" ✓","status":"done"},"9":{"item":"b","status":"pending"}}',
    );
    expect(first.link).to.equal('</todos?limit=2&after=9>; rel="next"');
    for (let i = 0; i < 5; i += 1) expect(encoder.encode(rows, { after: 0, limit: 2 }).body).to.equal(first.body);
    expect(calls).to.have.length(1);
    // Another array (another statement's rows) is encoded on its own, to the same bytes and tag.
    const again = encoder.encode([...rows], { after: 0, limit: 2 });
    expect(calls).to.have.length(2);
    expect(again.body).to.not.equal(first.body);
    expect(again.body.equals(first.body)).to.equal(true);
    expect(again.etag).to.equal(first.etag);
  });

  it('writes exactly what JSON.stringify writes for the keyed object', () => {
    const items = [
      '',
      'plain',
      'a "quoted" \\ back\\slash',
      'tab\tnew\nline\u0000\u001f\u007f',
      '✓ ünï 𝄞',
      '\ud800 lone',
      '</script>',
    ];
    for (const ids of [
      [1, 2, 3],
      [999_999, 1_000_000, 4_294_967_294, 4_294_967_295, 9_007_199_254_740_991],
    ]) {
      const page: Todo[] = ids.map((id, i) => ({
        id,
        item: items[i % items.length]!,
        status: i % 2 ? 'done' : 'pending',
      }));
      for (let n = 0; n <= page.length; n += 1) {
        const keyed: Record<string, { item: string; status: string }> = {};
        for (const row of page.slice(0, n)) keyed[String(row.id)] = { item: row.item, status: row.status };
        expect(keyedPageJson(page.slice(0, n))).to.equal(JSON.stringify(keyed));
      }
    }
  });

  it('keeps the status in the next link and gives none when no row follows the page', () => {
    const encoder = new PageEncoder();
    expect(encoder.encode(rows, { status: 'done', after: 3, limit: 2 }).link).to.equal(
      '</todos?status=done&limit=2&after=9>; rel="next"',
    );
    const whole = encoder.encode(rows, { after: 0, limit: 3 });
    expect(whole.link).to.equal(undefined);
    expect(Object.keys(JSON.parse(whole.body.toString()) as object)).to.deep.equal(['4', '9', '12']);
    expect(encoder.encode([], { after: 0, limit: 3 }).body.toString()).to.equal('{}');
  });
});

describe('GET /todos and /todos/:id with read batching: one JSON encoding per batch', function () {
  this.timeout(30_000);
  const database = useMigratedMariaDb('page-encoding');
  let pool: DbPool;
  let server: http.Server;
  let base: string;
  let observer: RecordingObserver;
  // The page encoder's bodies and JSON.stringify's outputs, counted while `produced` is set. The hook is
  // installed before the app is built, so whatever reference to it the app keeps is the counting one: any
  // whole body stringified besides the encoder's is counted too.
  const original = JSON.stringify;
  let produced: string[] | undefined;

  before(async () => {
    JSON.stringify = ((...args: Parameters<typeof JSON.stringify>) => {
      const text = original(...args);
      produced?.push(text);
      return text;
    }) as typeof JSON.stringify;
    observer = new RecordingObserver();
    pool = new DbPool(
      {
        host: '127.0.0.1',
        port: database.mariadb.port,
        user: database.settings.database.appUser,
        password: database.settings.database.appPassword,
        database: 'test',
        limit: 1,
        queueLimit: 100,
        acquireTimeoutMs: 10_000,
        connectTimeoutMs: 3_000,
        readBatching: true,
      },
      observer,
    );
    const db = new Db(pool, observer, 10_000);
    // The page bodies as the encoder writes them, counted with every JSON.stringify output.
    const pageEncoder = new PageEncoder((page) => {
      const text = keyedPageJson(page);
      produced?.push(text);
      return text;
    });
    const app = createApp({ db, log: () => undefined, sleepMaxSeconds: 10, bodyLimitBytes: 16_384, pageEncoder });
    server = http.createServer(app.callback());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  after(async () => {
    JSON.stringify = original;
    await new Promise((resolve) => server?.close(resolve));
    await pool?.end();
  });

  /**
   * Sends `paths` while the pool's one connection waits on a lock the admin holds, so they all queue,
   * then lets them go; counts the encodings (the page encoder's, or any JSON.stringify) of each of their bodies.
   */
  async function queuedTogether(paths: string[]): Promise<{ replies: Reply[]; encodings: Map<string, number> }> {
    const lock = await mysql.createConnection(database.mariadb.admin);
    const texts: string[] = [];
    try {
      await lock.query("SELECT GET_LOCK('page-encoding', 10)");
      const held = pool.stats().used;
      const db = new Db(pool, observer, 10_000);
      const holder = db.query(
        'hold',
        "SELECT GET_LOCK('page-encoding', 10) AS got, RELEASE_LOCK('page-encoding') AS released",
      );
      await waitFor('the connection to be held', () => (pool.stats().used === held + 1 ? true : undefined), 5_000, 5);
      produced = texts;
      const replies = Promise.all(paths.map((path) => request(`${base}${path}`)));
      await waitFor(
        `${paths.length} requests to queue`,
        () => (pool.stats().pending === paths.length ? true : undefined),
        10_000,
        5,
      );
      await lock.query("SELECT RELEASE_LOCK('page-encoding')");
      await holder;
      const answered = await replies;
      produced = undefined;
      const encodings = new Map<string, number>();
      for (const reply of answered) encodings.set(reply.text, texts.filter((text) => text === reply.text).length);
      return { replies: answered, encodings };
    } finally {
      produced = undefined;
      await lock.end();
    }
  }

  it('serializes 8 identical page reads once, and each other page once', async () => {
    const batchesBefore = observer.batches.length;
    const { replies, encodings } = await queuedTogether([
      ...Array.from({ length: 8 }, () => '/todos'),
      '/todos?limit=1',
      '/todos?limit=1',
      '/todos?status=done',
    ]);
    expect(replies.map((reply) => reply.status)).to.deep.equal(Array.from({ length: 11 }, () => 200));
    expect(replies.slice(0, 8).map((reply) => reply.text)).to.deep.equal(Array.from({ length: 8 }, () => SEED));
    expect(replies[8]!.text).to.equal('{"1":{"item":"task1","status":"pending"}}');
    expect(replies[8]!.headers.get('link')).to.equal('</todos?limit=1&after=1>; rel="next"');
    expect(replies[10]!.text).to.equal('{"2":{"item":"task2","status":"done"}}');
    // Three statements (one per distinct page), and one encoding of each: the 8 share one body.
    expect(
      observer.batches
        .slice(batchesBefore)
        .map(([, size]) => size)
        .sort(),
    ).to.deep.equal([1, 2, 8]);
    expect(Object.fromEntries(encodings)).to.deep.equal({
      [SEED]: 1,
      '{"1":{"item":"task1","status":"pending"}}': 1,
      '{"2":{"item":"task2","status":"done"}}': 1,
    });
  });

  it('serializes a todo that 4 members of one coalesced read asked for once', async () => {
    const batchesBefore = observer.batches.length;
    const { replies, encodings } = await queuedTogether([...Array.from({ length: 4 }, () => '/todos/1'), '/todos/2']);
    expect(replies.map((reply) => reply.status)).to.deep.equal([200, 200, 200, 200, 200]);
    const one = '{"id":1,"item":"task1","status":"pending"}';
    expect(replies.slice(0, 4).map((reply) => reply.text)).to.deep.equal([one, one, one, one]);
    expect(new Set(replies.slice(0, 4).map((reply) => reply.headers.get('etag'))).size).to.equal(1);
    expect(replies[4]!.text).to.equal('{"id":2,"item":"task2","status":"done"}');
    // One statement for both ids, and one encoding of each row.
    expect(observer.batches.slice(batchesBefore).map(([, size]) => size)).to.deep.equal([5]);
    expect(Object.fromEntries(encodings)).to.deep.equal({ [one]: 1, '{"id":2,"item":"task2","status":"done"}': 1 });
  });
});

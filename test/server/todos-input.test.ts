// Every input the /todos routes must refuse, on both workers: the exact status and JSON error (naming the
// field, parameter or header and the rule), and afterwards the table exactly as before (rows and the next
// AUTO_INCREMENT id, which even a failed INSERT would use up) with no write query run at all.
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { gzipSync } from 'node:zlib';
import { expect } from 'chai';
import type mysql from 'mysql2/promise';
import { request, type Reply } from '../support/http';
import {
  createTodo,
  DEFAULT_BODY_LIMIT,
  ownStack,
  send,
  tableState,
  writeQueryCounts,
  type Todo,
} from './todos-helpers';

type Expected = Record<string, unknown>;

interface Refusal {
  what: string;
  status: number;
  /** The error body without its message and request id. */
  error: Expected;
  /** Part of the message, where it should spell out the rule. */
  message?: string;
  body?: string | Uint8Array | (() => ReadableStream<Uint8Array>);
  headers?: Record<string, string>;
}

const JSON_TYPE = { 'content-type': 'application/json' };
const ITEM_RULE = 'item must be a string of 1 to 255 characters that is not only whitespace';
const STATUS_RULE = 'status must be one of "pending", "done"';

function bad(what: string, body: string | Uint8Array, error: Expected, message?: string): Refusal {
  return { what, status: 400, error: { error: 'bad_request', ...error }, message, body, headers: JSON_TYPE };
}

function concat(...parts: (string | number[])[]): Uint8Array {
  return Buffer.concat(parts.map((part) => (typeof part === 'string' ? Buffer.from(part) : Buffer.from(part))));
}

/** A body of `size` bytes of valid JSON for a valid todo, padded with whitespace. */
function paddedBody(size: number): string {
  const head = '{"item": "padded"';
  return `${head}${' '.repeat(size - head.length - 1)}}`;
}

/** Sends `bytes` chunked (no Content-Length), in 1 KiB pieces, so only counting can catch the size. */
function chunked(bytes: Buffer): () => ReadableStream<Uint8Array> {
  return () => {
    let offset = 0;
    return new ReadableStream<Uint8Array>({
      pull(controller) {
        if (offset >= bytes.length) {
          controller.close();
          return;
        }
        controller.enqueue(bytes.subarray(offset, offset + 1024));
        offset += 1024;
      },
    });
  };
}

/** Refusals of the JSON body that POST and PATCH share. */
const BODY_REFUSALS: Refusal[] = [
  ...['[]', 'null', '"walk the dog"', '42', 'true', '[{"item": "x"}]'].map((body) =>
    bad(`the JSON ${body} (not an object)`, body, { field: 'body', rule: 'object' }, 'The body must be a JSON object'),
  ),
  ...['1', 'null', '["a"]', '{"a": 1}', 'true', '1.5'].map((item) =>
    bad(`item ${item} (not a string)`, `{"item": ${item}}`, { field: 'item', rule: 'string' }, ITEM_RULE),
  ),
  ...['""', '" "', '"\\t\\n\\r"', '"\\u00a0\\u3000\\ufeff"', '"\\u2028"'].map((item) =>
    bad(`item ${item} (blank once trimmed)`, `{"item": ${item}}`, { field: 'item', rule: 'not_blank' }, ITEM_RULE),
  ),
  bad(
    'item of 256 ASCII characters',
    JSON.stringify({ item: 'a'.repeat(256) }),
    { field: 'item', rule: 'max_length' },
    'item has 256 characters',
  ),
  bad(
    'item of 256 emoji',
    JSON.stringify({ item: '😀'.repeat(256) }),
    { field: 'item', rule: 'max_length' },
    'item has 256 characters',
  ),
  bad(
    'item of 255 characters plus a trailing space (length counts what is stored)',
    JSON.stringify({ item: `${'b'.repeat(255)} ` }),
    { field: 'item', rule: 'max_length' },
  ),
  ...['"\\ud83d"', '"x\\udc00"', '"\\ude00\\ud83d"'].map((item) =>
    bad(`item ${item} (an unpaired surrogate)`, `{"item": ${item}}`, { field: 'item', rule: 'unicode' }),
  ),
  ...['"DONE"', '"Done"', '""', '"done "', 'null', '1', 'true', '"archived"', '["done"]'].map((status) =>
    bad(`status ${status}`, `{"item": "x", "status": ${status}}`, { field: 'status', rule: 'one_of' }, STATUS_RULE),
  ),
  ...['extra', 'id', 'Item', '__proto__', 'constructor', ''].map((key) =>
    bad(
      `the unknown field ${JSON.stringify(key)}`,
      `{"item": "x", ${JSON.stringify(key)}: {"status": "done"}}`,
      { field: key, rule: 'unknown_field' },
      'a todo has only the fields item and status',
    ),
  ),
  bad('an unknown field beside a bad item (the unknown field is named)', '{"item": "", "done": true}', {
    field: 'done',
    rule: 'unknown_field',
  }),
  ...[
    '{',
    '{"item": "x",}',
    "{'item': 'x'}",
    '{"item": "x"} trailing',
    '{"item": "x"}{"item": "y"}',
    'NaN',
    '{"item": "x\u0001"}',
    '{item: "x"}',
  ].map((body) =>
    bad(`malformed JSON ${JSON.stringify(body)}`, body, { field: 'body', rule: 'json' }, 'not valid JSON'),
  ),
  ...['', '  \n'].map((body) =>
    bad(`an empty body ${JSON.stringify(body)}`, body, { field: 'body', rule: 'required' }),
  ),
  bad('bytes that are not UTF-8 (0xC3 0x28)', concat('{"item": "', [0xc3, 0x28], '"}'), {
    field: 'body',
    rule: 'utf8',
  }),
  bad('a UTF-8-encoded surrogate (CESU-8, 0xED 0xA0 0xBD)', concat('{"item": "', [0xed, 0xa0, 0xbd], '"}'), {
    field: 'body',
    rule: 'utf8',
  }),
  bad('a lone 0xFF byte', concat('{"item": "', [0xff], '"}'), { field: 'body', rule: 'utf8' }),
];

/** Refusals of the request as a whole (media type, encoding, size) that POST and PATCH share. */
const TRANSPORT_REFUSALS: Refusal[] = [
  ...[
    'text/plain',
    'application/x-www-form-urlencoded',
    'multipart/form-data; boundary=x',
    'application/jsonx',
    'text/json',
    'application/json; charset=iso-8859-1',
    'application/json; charset=utf-16',
  ].map((type) => ({
    what: `Content-Type ${type}`,
    status: 415,
    error: { error: 'unsupported_media_type' },
    body: '{"item": "x"}',
    headers: { 'content-type': type },
  })),
  {
    what: 'a body without Content-Type',
    status: 415,
    error: { error: 'unsupported_media_type' },
    message: 'no Content-Type',
    body: new TextEncoder().encode('{"item": "x"}'),
    headers: {},
  },
  {
    what: 'a gzip-compressed body',
    status: 415,
    error: { error: 'unsupported_media_type' },
    message: 'gzip',
    body: gzipSync('{"item": "x"}'),
    headers: { ...JSON_TYPE, 'content-encoding': 'gzip' },
  },
  {
    what: 'no body at all',
    status: 400,
    error: { error: 'bad_request', field: 'body', rule: 'required' },
    headers: JSON_TYPE,
  },
  ...[DEFAULT_BODY_LIMIT + 1, 1024 * 1024].map((size): Refusal => ({
    what: `a ${size}-byte body with Content-Length`,
    status: 413,
    error: { error: 'payload_too_large', limitBytes: DEFAULT_BODY_LIMIT },
    message: 'larger than the limit of 16384 bytes',
    body: paddedBody(size),
    headers: JSON_TYPE,
  })),
  ...[DEFAULT_BODY_LIMIT + 1, 1024 * 1024].map((size): Refusal => ({
    what: `a ${size}-byte chunked body (no Content-Length)`,
    status: 413,
    error: { error: 'payload_too_large', limitBytes: DEFAULT_BODY_LIMIT },
    body: chunked(Buffer.from(paddedBody(size))),
    headers: JSON_TYPE,
  })),
];

const BAD_IDS: [string, string][] = [
  ['abc', 'positive_integer'],
  ['0', 'positive_integer'],
  ['-1', 'positive_integer'],
  ['%2B1', 'positive_integer'],
  ['1.5', 'positive_integer'],
  ['01', 'positive_integer'],
  ['1e3', 'positive_integer'],
  ['0x10', 'positive_integer'],
  ['%201', 'positive_integer'],
  ['1%00', 'positive_integer'],
  ["1'%20OR%20'1'='1", 'positive_integer'],
  ['4294967296', 'range'],
  ['99999999999999999999', 'range'],
];

const BAD_LIST_QUERIES: [string, Expected][] = [
  ['status=archived', { parameter: 'status', rule: 'one_of' }],
  ['status=', { parameter: 'status', rule: 'one_of' }],
  ['status=DONE', { parameter: 'status', rule: 'one_of' }],
  ['status=done&status=pending', { parameter: 'status', rule: 'single' }],
  ['stauts=done', { parameter: 'stauts', rule: 'unknown_parameter' }],
];

describe('/todos refusing bad input', function () {
  this.timeout(60_000);
  const stack = ownStack();
  let admin: mysql.Connection;

  before(async () => {
    admin = await stack().admin();
  });

  after(async () => {
    await admin?.end();
  });

  /** Sends the request and checks the refusal, then that neither the table nor the write metrics moved. */
  async function expectRefused(base: string, method: string, path: string, refusal: Refusal): Promise<Reply> {
    const before = await tableState(admin);
    const writesBefore = await writeQueryCounts(base);
    const body = typeof refusal.body === 'function' ? refusal.body() : refusal.body;
    const reply = await request(`${base}${path}`, {
      method,
      headers: refusal.headers,
      body,
      ...(typeof refusal.body === 'function' ? { duplex: 'half' } : {}),
    } as RequestInit);
    expect(reply.status, reply.text).to.equal(refusal.status);
    expect(reply.headers.get('content-type')).to.equal('application/json; charset=utf-8');
    const { message, requestId, ...rest } = reply.body as { message: unknown; requestId: unknown };
    expect(rest).to.deep.equal(refusal.error);
    expect(requestId).to.equal(reply.headers.get('x-request-id'));
    expect(message).to.be.a('string').with.length.above(0);
    if (refusal.message) expect(message).to.contain(refusal.message);
    expect(await tableState(admin)).to.deep.equal(before);
    expect(await writeQueryCounts(base)).to.deep.equal(writesBefore);
    return reply;
  }

  for (const index of [0, 1]) {
    describe(`on worker ${index + 1}`, () => {
      const base = () => stack().workers[index]!.url;
      let target: Todo;

      before(async () => {
        // Written through the other worker, so the refusals below meet a row this worker never saw.
        target = (
          await createTodo(stack().workers[1 - index]!.url, {
            item: `target of worker ${index + 1}`,
            status: 'pending',
          })
        ).todo;
      });

      describe('POST /todos', () => {
        for (const refusal of [
          bad(
            'an empty object (item is required)',
            '{}',
            { field: 'item', rule: 'required' },
            `item is required: ${ITEM_RULE}`,
          ),
          bad('a status without item', '{"status": "done"}', { field: 'item', rule: 'required' }),
          ...BODY_REFUSALS,
          ...TRANSPORT_REFUSALS,
        ]) {
          it(`answers ${refusal.status} for ${refusal.what} and writes nothing`, async () => {
            await expectRefused(base(), 'POST', '/todos', refusal);
          });
        }
      });

      describe('PATCH /todos/:id', () => {
        for (const refusal of [
          bad(
            'an empty object (nothing to change)',
            '{}',
            { field: 'body', rule: 'not_empty' },
            'The body must set at least one of item and status',
          ),
          ...BODY_REFUSALS,
          ...TRANSPORT_REFUSALS,
        ]) {
          it(`answers ${refusal.status} for ${refusal.what} and changes nothing`, async () => {
            await expectRefused(base(), 'PATCH', `/todos/${target.id}`, refusal);
          });
        }

        for (const [id, rule] of BAD_IDS) {
          it(`answers 400 (rule ${rule}) for the id ${JSON.stringify(decodeURIComponent(id))} and changes nothing`, async () => {
            await expectRefused(
              base(),
              'PATCH',
              `/todos/${id}`,
              bad(
                '',
                '{"status": "done"}',
                { parameter: 'id', rule },
                'id must be a whole number from 1 to 4294967295',
              ),
            );
          });
        }

        for (const header of ['abc', '"unterminated', '"a" "b"', '*, "a"']) {
          it(`answers 400 for the malformed If-Match ${header} and changes nothing`, async () => {
            await expectRefused(base(), 'PATCH', `/todos/${target.id}`, {
              what: '',
              status: 400,
              error: { error: 'bad_request', header: 'If-Match', rule: 'entity_tags' },
              body: '{"status": "done"}',
              headers: { ...JSON_TYPE, 'if-match': header },
            });
          });
        }
      });

      describe('DELETE /todos/:id', () => {
        for (const [id, rule] of BAD_IDS) {
          it(`answers 400 (rule ${rule}) for the id ${JSON.stringify(decodeURIComponent(id))} and deletes nothing`, async () => {
            await expectRefused(base(), 'DELETE', `/todos/${id}`, {
              what: '',
              status: 400,
              error: { error: 'bad_request', parameter: 'id', rule },
            });
          });
        }

        it('answers 400 for a malformed If-Match and deletes nothing', async () => {
          await expectRefused(base(), 'DELETE', `/todos/${target.id}`, {
            what: '',
            status: 400,
            error: { error: 'bad_request', header: 'If-Match', rule: 'entity_tags' },
            headers: { 'if-match': 'W/' },
          });
        });
      });

      describe('GET /todos/:id', () => {
        for (const [id, rule] of BAD_IDS) {
          it(`answers 400 (rule ${rule}) for the id ${JSON.stringify(decodeURIComponent(id))}`, async () => {
            await expectRefused(base(), 'GET', `/todos/${id}`, {
              what: '',
              status: 400,
              error: { error: 'bad_request', parameter: 'id', rule },
            });
          });
        }
      });

      describe('GET /todos', () => {
        for (const [query, error] of BAD_LIST_QUERIES) {
          it(`answers 400 for ?${query}`, async () => {
            await expectRefused(base(), 'GET', `/todos?${query}`, {
              what: '',
              status: 400,
              error: { error: 'bad_request', ...error },
            });
          });
        }
      });

      it('still holds the target row exactly as it was written', async () => {
        const reply = await request(`${base()}/todos/${target.id}`);
        expect(reply.body).to.deep.equal(target);
      });
    });
  }

  describe('a body cut off mid-way', () => {
    it('writes nothing, logs no error, and the worker serves the next request', async () => {
      const worker = stack().workers[0]!;
      const before = await tableState(admin);
      const writesBefore = await writeQueryCounts(worker.url);
      const socket = net.connect(worker.port, '127.0.0.1');
      await new Promise((resolve) => socket.once('connect', resolve));
      socket.write(
        'POST /todos HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"item": "cut',
      );
      await sleep(100);
      socket.destroy();
      await sleep(100);
      expect(worker.output()).to.not.contain('request failed');
      expect((await request(`${worker.url}/todos/1`)).status).to.equal(200);
      expect(await tableState(admin)).to.deep.equal(before);
      expect(await writeQueryCounts(worker.url)).to.deep.equal(writesBefore);
    });
  });

  describe('with BODY_LIMIT_BYTES=256', () => {
    let base: string;

    before(async function () {
      this.timeout(30_000);
      base = (await stack().addWorker({ BODY_LIMIT_BYTES: '256' })).url;
    });

    it('accepts a body of exactly 256 bytes (and the table check sees that write)', async () => {
      const before = await tableState(admin);
      const reply = await send(`${base}/todos`, 'POST', paddedBody(256));
      expect(reply.status).to.equal(201);
      const after = await tableState(admin);
      expect(after.autoIncrement).to.equal(before.autoIncrement + 1);
      expect(after.rows).to.deep.include(reply.body);
    });

    it('answers 413 naming the configured limit for 257 bytes, and writes nothing', async () => {
      await expectRefused(base, 'POST', '/todos', {
        what: '',
        status: 413,
        error: { error: 'payload_too_large', limitBytes: 256 },
        message: 'larger than the limit of 256 bytes',
        body: paddedBody(257),
        headers: JSON_TYPE,
      });
    });
  });
});

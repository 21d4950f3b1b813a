// Regression tests for what the route fuzzer (fuzz.test.ts) found in the answers to requests Node's HTTP
// parser refuses (server/http/client-error.ts), on raw sockets: the bytes are exactly as a client sent them.
import { expect } from 'chai';
import type mysql from 'mysql2/promise';
import { sendRaw } from './fuzz/raw-http';
import { ownStack, tableState } from './todos-helpers';

const BODY = '{"item": "written once"}';
const POST = `POST /todos HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(BODY)}\r\n`;

describe('requests Node refuses, on a connection that also carries a valid one', function () {
  this.timeout(60_000);
  const stack = ownStack({ workers: 1 });
  let admin: mysql.Connection;

  before(async () => {
    admin = await stack().admin();
  });

  after(async () => {
    await admin?.end();
  });

  async function exchange(raw: string | Buffer) {
    const bytes = typeof raw === 'string' ? Buffer.from(raw, 'latin1') : raw;
    return sendRaw(stack().workers[0]!.port, bytes, { timeoutMs: 10_000 });
  }

  // Before: the parser's error on the trailing bytes was answered at once with 400 "not valid HTTP" and
  // the connection closed, while the POST before it was still running: its row was written behind a 400.
  const cases: [string, string][] = [
    ['bytes after a Connection: close request', `${POST}Connection: close\r\n\r\n${BODY}junk`],
    ['bytes after an HTTP/1.0 request', `${POST.replace('HTTP/1.1', 'HTTP/1.0')}\r\n${BODY}x`],
    ['a malformed request pipelined after it', `${POST}\r\n${BODY}BAD REQUEST LINE\r\n\r\n`],
  ];
  for (const [what, raw] of cases) {
    it(`answers the POST (201) before refusing ${what}, and its row is the one written`, async () => {
      const before = await tableState(admin);
      const { responses, closed } = await exchange(raw);
      expect(closed).to.equal(true);
      expect(responses[0]?.status, responses[0]?.body.toString()).to.equal(201);
      const created = JSON.parse(responses[0]!.body.toString()) as { id: number };
      expect(responses.slice(1).map((r) => r.status)).to.deep.equal(what.startsWith('a malformed') ? [400] : []);
      const after = await tableState(admin);
      expect(after.rows).to.deep.equal([...before.rows, { id: created.id, item: 'written once', status: 'pending' }]);
    });
  }

  // Before: every further chunk raised the parse error again, the second one destroyed the socket with
  // unread bytes, and the reset took the 400 with it.
  it('answers 400 JSON to Content-Length with Transfer-Encoding while a 10 MB body is still arriving', async () => {
    const head =
      'POST /todos HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 10485760\r\nTransfer-Encoding: chunked\r\n\r\n';
    const { responses } = await exchange(Buffer.concat([Buffer.from(head), Buffer.alloc(10 * 1024 * 1024, 'a')]));
    expect(responses.map((r) => r.status)).to.deep.equal([400]);
    expect(JSON.parse(responses[0]!.body.toString())).to.deep.equal({
      error: 'bad_request',
      message: 'The request is not valid HTTP.',
    });
  });

  // Before: Node closed the connection without a word (no 'connect' listener).
  it('answers CONNECT with 501 JSON instead of closing the connection', async () => {
    const { responses } = await exchange('CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n');
    expect(responses.map((r) => r.status)).to.deep.equal([501]);
    expect(JSON.parse(responses[0]!.body.toString())).to.deep.equal({
      error: 'not_implemented',
      message: 'CONNECT is not supported by this server.',
    });
  });
});

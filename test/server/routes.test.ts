// Every route of a worker, on both workers of a real stack (MariaDB + HAProxy + 2 worker processes).
import { expect } from 'chai';
import { request } from '../support/http';
import { sharedStack, type TestStack } from '../support/stack';

describe('worker routes', function () {
  this.timeout(60_000);
  let stack: TestStack;

  before(async () => {
    stack = await sharedStack();
  });

  for (const index of [0, 1]) {
    describe(`on worker ${index + 1}`, () => {
      const url = (path: string) => `${stack.workers[index]!.url}${path}`;

      it('GET / answers Welcome! as plain text', async () => {
        const reply = await request(url('/'));
        expect(reply.status).to.equal(200);
        expect(reply.headers.get('content-type')).to.equal('text/plain; charset=utf-8');
        expect(reply.text).to.equal('Welcome!\n');
      });

      it('GET /todos answers the seeded rows in the reference shape', async () => {
        const reply = await request(url('/todos'));
        expect(reply.status).to.equal(200);
        expect(reply.body).to.deep.equal({
          1: { item: 'task1', status: 'pending' },
          2: { item: 'task2', status: 'done' },
        });
      });

      it('GET /sleep/:s sleeps in MySQL and answers the seconds as a number', async () => {
        const started = Date.now();
        const reply = await request(url('/sleep/0.3'));
        expect(reply.status).to.equal(200);
        expect(reply.body).to.deep.equal({ slept: 0.3 });
        expect(Date.now() - started).to.be.at.least(290);
      });

      it('GET /sleep/0 answers at once', async () => {
        const reply = await request(url('/sleep/0'));
        expect(reply.body).to.deep.equal({ slept: 0 });
      });

      it('GET /healthz answers ok without the database', async () => {
        const reply = await request(url('/healthz'));
        expect(reply.status).to.equal(200);
        expect(reply.body).to.deep.equal({ status: 'ok' });
      });

      it('GET /readyz answers ready when the database answers through HAProxy', async () => {
        const reply = await request(url('/readyz'));
        expect(reply.status).to.equal(200);
        expect(reply.body).to.deep.equal({ status: 'ready' });
      });

      it('GET /pool reports a one-connection pool, idle between requests', async () => {
        const reply = await request(url('/pool'));
        expect(reply.status).to.equal(200);
        const pool = reply.body as Record<string, unknown>;
        expect(pool).to.include({ limit: 1, used: 0, idle: 1, pending: 0, open: 1 });
        expect(pool).to.have.all.keys(
          'limit',
          'used',
          'idle',
          'pending',
          'open',
          'queueLimit',
          'acquireTimeoutMs',
          'created',
          'closed',
          'rejected',
        );
      });

      it('GET /metrics answers Prometheus text with pool and query series', async () => {
        const reply = await request(url('/metrics'));
        expect(reply.status).to.equal(200);
        expect(reply.headers.get('content-type')).to.match(/^text\/plain; version=0\.0\.4/);
        expect(reply.text).to.match(/^db_pool_connections\{state="used",worker="test-worker-\d+"\} 0$/m);
        expect(reply.text).to.match(/^db_pool_connections_max\{worker="test-worker-\d+"\} 1$/m);
        expect(reply.text).to.match(
          /^db_query_duration_seconds_count\{worker="test-worker-\d+",query="ping",outcome="ok"\} \d+$/m,
        );
      });

      it('an unknown route answers 404 JSON', async () => {
        const reply = await request(url('/nope'));
        expect(reply.status).to.equal(404);
        expect(reply.body).to.deep.equal({
          error: 'not_found',
          message: 'No route for GET /nope.',
          requestId: reply.headers.get('x-request-id'),
        });
      });

      it('a wrong method answers 405 JSON with Allow', async () => {
        const reply = await request(url('/sleep/1'), { method: 'DELETE' });
        expect(reply.status).to.equal(405);
        expect(reply.headers.get('allow')).to.equal('HEAD, GET');
        expect(reply.body).to.deep.equal({
          error: 'method_not_allowed',
          message: 'DELETE is not allowed on /sleep/1; allowed: HEAD, GET.',
          requestId: reply.headers.get('x-request-id'),
        });
      });
    });
  }
});

describe('requests the router or Node refuse', function () {
  this.timeout(30_000);

  it('answers a method no route knows (PROPFIND) with 501 JSON', async () => {
    const stack = await sharedStack();
    const reply = await request(`${stack.workers[0]!.url}/todos`, { method: 'PROPFIND' });
    expect(reply.status).to.equal(501);
    expect(reply.body).to.deep.equal({
      error: 'not_implemented',
      message: 'PROPFIND is not supported by this server.',
      requestId: reply.headers.get('x-request-id'),
    });
  });

  it('answers headers over 16 KB with 431 JSON', async () => {
    const stack = await sharedStack();
    const reply = await request(`${stack.workers[0]!.url}/todos`, { headers: { 'x-big': 'a'.repeat(20_000) } });
    expect(reply.status).to.equal(431);
    expect(reply.body).to.deep.equal({
      error: 'headers_too_large',
      message: 'The request line and headers are larger than 16 KB.',
    });
  });

  it('answers a malformed request line with 400 JSON', async () => {
    const stack = await sharedStack();
    const net = await import('node:net');
    const raw = await new Promise<string>((resolve, reject) => {
      const socket = net.connect(stack.workers[0]!.port, '127.0.0.1', () =>
        socket.write('G@T /todos HTTP/1.1\r\nHost: x\r\n\r\n'),
      );
      let data = '';
      socket.on('data', (chunk) => (data += chunk.toString()));
      socket.on('end', () => resolve(data));
      socket.on('error', reject);
    });
    expect(raw).to.match(/^HTTP\/1\.1 400 Bad Request\r\n/);
    expect(raw.slice(raw.indexOf('\r\n\r\n') + 4)).to.equal(
      '{"error":"bad_request","message":"The request is not valid HTTP."}',
    );
  });
});

// The request id middleware, the error middleware and the access log together, in-process on a tiny Koa
// app: the paths a real worker cannot be made to take on demand (an unexpected exception, a 500).
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import Koa from 'koa';
import { expect } from 'chai';
import { accessLogMiddleware } from '../../../server/http/access-log';
import { clientGoneMiddleware } from '../../../server/http/client-gone';
import { errorMiddleware } from '../../../server/http/error-middleware';
import { HttpError } from '../../../server/http/errors';
import { requestIdMiddleware } from '../../../server/http/request-id';

describe('request ids in error bodies, error log lines and access lines', () => {
  const errorLines: Record<string, unknown>[] = [];
  const accessLines: Record<string, unknown>[] = [];
  let server: Server;
  let base: string;

  before(async () => {
    const app = new Koa();
    app.silent = true;
    app.use(requestIdMiddleware());
    app.use(clientGoneMiddleware());
    app.use(
      accessLogMiddleware({
        worker: 'unit',
        write: (line) => accessLines.push(JSON.parse(line) as Record<string, unknown>),
      }),
    );
    app.use(errorMiddleware((line) => errorLines.push(line)));
    app.use((ctx) => {
      if (ctx.path === '/bug') throw new Error('a bug');
      throw new HttpError(409, 'conflict', 'Already there.', {}, { field: 'item' });
    });
    server = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  after(() => {
    server.close();
  });

  it('puts the same id in the 500 body, the "request failed" line and the access line', async () => {
    const reply = await fetch(`${base}/bug`, { headers: { 'x-request-id': 'bug-report-7' } });
    expect(reply.status).to.equal(500);
    expect(reply.headers.get('x-request-id')).to.equal('bug-report-7');
    expect(await reply.json()).to.deep.equal({
      error: 'internal_error',
      message: 'Internal server error.',
      requestId: 'bug-report-7',
    });
    expect(errorLines.find((l) => l.requestId === 'bug-report-7')).to.include({
      level: 'error',
      msg: 'request failed',
    });
    await new Promise((resolve) => setTimeout(resolve, 20));
    const logged = accessLines.filter((l) => l.requestId === 'bug-report-7');
    expect(logged).to.have.length(1);
    expect(logged[0]).to.include({ status: 500, route: 'unmatched', worker: 'unit', poolWaitMs: 0 });
  });

  it('ends a 4xx body with the id, after the error details', async () => {
    const reply = await fetch(`${base}/dup`);
    const id = reply.headers.get('x-request-id');
    expect(id).to.match(/^[0-9a-f-]{36}$/);
    const text = await reply.text();
    expect(text).to.equal(`{"error":"conflict","message":"Already there.","field":"item","requestId":"${id}"}`);
  });
});

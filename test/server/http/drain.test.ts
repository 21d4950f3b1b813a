// drainHttpServer: a stopping worker must not reset a keep-alive client. Real sockets on loopback.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { expect } from 'chai';
import { drainHttpServer, trackResponses } from '../../../server/http/drain';

interface Answer {
  status: number;
  connection: string | undefined;
}

function get(port: number, agent: http.Agent, path = '/'): Promise<Answer> {
  return new Promise((resolve, reject) => {
    http.get({ host: '127.0.0.1', port, path, agent }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, connection: res.headers.connection }));
    }).on('error', reject);
  });
}

describe('drainHttpServer(server)', () => {
  let server: http.Server;
  let port: number;
  let agent: http.Agent;
  let openResponses: ReturnType<typeof trackResponses>;

  beforeEach(async () => {
    server = http.createServer((req, res) => {
      const delay = req.url === '/slow' ? 300 : 0;
      setTimeout(() => res.end('ok'), delay);
    });
    openResponses = trackResponses(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    port = (server.address() as AddressInfo).port;
    agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  });

  afterEach(() => {
    agent.destroy();
    server.closeAllConnections();
  });

  it('answers the next request on an open keep-alive connection with Connection: close instead of resetting it', async () => {
    expect((await get(port, agent)).connection).to.equal('keep-alive');
    const drained = drainHttpServer(server, openResponses, { idleGraceMs: 1000, timeoutMs: 5000 });
    // The connection is idle at this instant; Node's own server.close() would close it right here.
    expect(await get(port, agent)).to.deep.equal({ status: 200, connection: 'close' });
    await drained;
  });

  it('marks a request already in flight Connection: close, and finishes it', async () => {
    const inFlight = get(port, agent, '/slow');
    await sleep(50);
    const drained = drainHttpServer(server, openResponses, { idleGraceMs: 1000, timeoutMs: 5000 });
    expect(await inFlight).to.deep.equal({ status: 200, connection: 'close' });
    await drained;
  });

  it('refuses new connections at once and closes a connection left idle once the grace is over', async () => {
    await get(port, agent);
    const started = performance.now();
    const drained = drainHttpServer(server, openResponses, { idleGraceMs: 300, timeoutMs: 5000 });
    const fresh = new http.Agent({ keepAlive: false });
    const refused = await get(port, fresh).then(() => 'answered', (error: NodeJS.ErrnoException) => error.code);
    fresh.destroy();
    expect(refused).to.equal('ECONNREFUSED');
    await drained;
    expect(performance.now() - started).to.be.within(250, 1500);
  });
});

// drainHttpServer: a stopping worker must not reset a keep-alive client. Real sockets on loopback.
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { expect } from 'chai';
import { drainHttpServer, trackResponses } from '../../../server/http/drain';
import { waitFor } from '../../support/wait';

interface Answer {
  status: number;
  connection: string | undefined;
}

function get(port: number, agent: http.Agent, path = '/'): Promise<Answer> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path, agent }, (res) => {
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode ?? 0, connection: res.headers.connection }));
      })
      .on('error', reject);
  });
}

describe('drainHttpServer(server)', () => {
  let server: http.Server;
  let port: number;
  let agent: http.Agent;
  let openResponses: ReturnType<typeof trackResponses>;
  let handled: string[];

  beforeEach(async () => {
    handled = [];
    server = http.createServer((req, res) => {
      handled.push(req.url ?? '');
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
    const refused = await get(port, fresh).then(
      () => 'answered',
      (error: NodeJS.ErrnoException) => error.code,
    );
    fresh.destroy();
    expect(refused).to.equal('ECONNREFUSED');
    await drained;
    expect(performance.now() - started).to.be.within(250, 1500);
  });

  it('runs no request pipelined behind the answer that closes the connection, and says how many it dropped', async () => {
    const socket = net.connect(port, '127.0.0.1');
    let text = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => (text += chunk));
    const closed = new Promise((resolve) => socket.once('close', resolve));
    socket.write(['/slow', '/b', '/c'].map((path) => `GET ${path} HTTP/1.1\r\nHost: t\r\n\r\n`).join(''));
    await waitFor('the first request to reach the app', () => (handled.length > 0 ? true : undefined), 2000);
    const drained = drainHttpServer(server, openResponses, { idleGraceMs: 1000, timeoutMs: 5000 });
    await closed;
    await drained;
    expect(handled).to.deep.equal(['/slow']);
    expect(text.match(/HTTP\/1\.1 200/g)).to.have.length(1);
    expect(text).to.contain('Connection: close');
    expect(openResponses.dropped).to.equal(2);
  });

  it('hands pipelined requests to the app one at a time, in order, each answered', async () => {
    const socket = net.connect(port, '127.0.0.1');
    let text = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => (text += chunk));
    const closed = new Promise((resolve) => socket.once('close', resolve));
    socket.write(
      ['/slow', '/b', '/c']
        .map((path, i) => `GET ${path} HTTP/1.1\r\nHost: t\r\n${i === 2 ? 'Connection: close\r\n' : ''}\r\n`)
        .join(''),
    );
    await waitFor('the first request to reach the app', () => (handled.length > 0 ? true : undefined), 2000);
    // Node has read all three; the second waits for the first's answer.
    expect(handled).to.deep.equal(['/slow']);
    await closed;
    expect(handled).to.deep.equal(['/slow', '/b', '/c']);
    expect(text.match(/HTTP\/1\.1 200/g)).to.have.length(3);
  });
});

// The answers HAProxy's front door makes itself are JSON like the workers' errors, with the request id.
// Behind it, a real process standing in for a worker that dies: it answers the health check, resets
// the connection of POST /reset, and holds POST /hang until the test SIGKILLs it.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { freePort } from '../../cluster/free-port';
import { loadStackSettings, type StackSettings } from '../../cluster/settings';
import { startHaproxy, type HaproxyHandle } from '../support/haproxy';
import { request } from '../support/http';
import { exited, killOnExit } from '../support/processes';
import { waitFor } from '../support/wait';

const FAILING_WORKER = `
const http = require('node:http');
http.createServer((req, res) => {
  if (req.url === '/readyz' || req.url === '/healthz') {
    res.setHeader('content-type', 'application/json');
    res.end('{"status":"ok"}');
  } else if (req.url === '/reset') {
    req.socket.resetAndDestroy();
  } else if (req.url === '/hang') {
    process.send('hanging');
  }
}).listen(Number(process.env.PORT), '127.0.0.1', () => process.send('listening'));
`;

function startFailingWorker(port: number): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['-e', FAILING_WORKER], {
    env: { PORT: String(port) },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  killOnExit(child);
  return new Promise((resolve, reject) => {
    child.once('message', () => resolve(child));
    child.once('exit', (code) => reject(new Error(`the stand-in worker exited with ${code}`)));
  });
}

interface FreshReply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: unknown;
}

/**
 * A request on a connection of its own. HAProxy 2.6.12 closes a kept-alive client connection without
 * an answer when the worker fails a request after the first one on it (HAProxy issue #2285), so the
 * JSON answers are checked on first requests.
 */
function freshRequest(url: string, method: string, headers: Record<string, string> = {}): Promise<FreshReply> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, headers, agent: false, timeout: 10_000 }, (res) => {
      let text = '';
      res.on('data', (chunk: Buffer) => (text += chunk.toString()));
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: (res.headers['content-type'] ?? '').includes('json') ? JSON.parse(text) : text,
        }),
      );
    });
    req.on('timeout', () => req.destroy(new Error(`${method} ${url}: no answer in 10 s`)));
    req.on('error', reject);
    req.end();
  });
}

/** What the front door sends back on a raw connection for `bytes`, until it closes. */
function rawExchange(port: number, bytes: string): Promise<string> {
  return new Promise((resolve) => {
    let received = '';
    const socket = net.connect(port, '127.0.0.1', () => socket.write(bytes));
    socket.setTimeout(10_000, () => socket.destroy());
    socket.on('data', (chunk: Buffer) => (received += chunk.toString()));
    socket.on('error', () => undefined);
    socket.on('close', () => resolve(received));
  });
}

describe("the front door's own error answers", function () {
  this.timeout(30_000);
  let settings: StackSettings;
  let haproxy: HaproxyHandle;
  let worker: ChildProcess;
  let stateDir: string;
  let frontDoor: string;

  before(async function () {
    const workerPort = await freePort();
    stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kh-front-door-errors-'));
    settings = loadStackSettings({
      // No database: only the front door is used here.
      MYSQL_HOST: '127.0.0.1',
      MYSQL_PORT: String(await freePort()),
      HAPROXY_PORT: String(await freePort()),
      HAPROXY_STATS_PORT: String(await freePort()),
      HTTP_PORT: String(await freePort()),
      WORKER_PORTS: String(workerPort),
      STACK_DIR: stateDir,
      DB_PASSWORD: 'front-door-errors',
      DB_EXPORTER_PASSWORD: 'front-door-errors',
    });
    worker = await startFailingWorker(workerPort);
    haproxy = await startHaproxy(settings, { frontDoor: true });
    frontDoor = `http://127.0.0.1:${settings.haproxy.httpPort}`;
    await waitFor(
      'the stand-in worker UP behind the front door',
      async () => ((await request(`${frontDoor}/healthz`)).status === 200 ? true : undefined),
      10_000,
      100,
    );
  });

  after(async function () {
    worker?.kill('SIGKILL');
    await haproxy?.stop();
    fs.rmSync(stateDir, { recursive: true, force: true });
  });

  it('answers a POST whose worker resets the connection with 502 bad_gateway as JSON with the request id', async function () {
    const reply = await freshRequest(`${frontDoor}/reset`, 'POST', { 'X-Request-Id': 'reset-1' });
    expect(reply.status).to.equal(502);
    expect(reply.headers['content-type']).to.equal('application/json');
    expect(reply.headers['x-request-id']).to.equal('reset-1');
    expect(reply.body).to.deep.equal({
      error: 'bad_gateway',
      message: 'The worker failed before it answered; the request may or may not have been applied.',
      requestId: 'reset-1',
    });
  });

  it('answers a POST whose worker is SIGKILLed under it with 502 bad_gateway as JSON, then 503 no_worker_available with Retry-After', async function () {
    const hanging = new Promise((resolve) => worker.once('message', resolve));
    const pending = freshRequest(`${frontDoor}/hang`, 'POST', { 'X-Request-Id': 'killed-1' });
    await hanging;
    worker.kill('SIGKILL');
    await exited(worker);
    const reply = await pending;
    expect(reply.status).to.equal(502);
    expect(reply.body).to.deep.include({ error: 'bad_gateway', requestId: 'killed-1' });

    // Nothing listens on the worker's port now: refused, retried, then HAProxy's own 503. A request id
    // the workers would not accept (two values in one header) is replaced, in the body too.
    const after = await freshRequest(`${frontDoor}/todos`, 'GET', { 'X-Request-Id': 'ok, "x' });
    expect(after.status).to.equal(503);
    expect(after.headers['retry-after']).to.equal('1');
    const id = after.headers['x-request-id'];
    expect(id).to.match(/^[0-9a-f-]{36}$/);
    expect(after.body).to.deep.equal({
      error: 'no_worker_available',
      message: 'No worker is up behind the front door right now; retry shortly.',
      requestId: id,
    });
  });

  it('answers a request it cannot parse with 400 and closes the connection (HAProxy 2.6: its built-in HTML body)', async function () {
    // Refused by HAProxy's H1 parser, before any rule or http-error applies (see haproxy.cfg).
    const answer = await rawExchange(
      settings.haproxy.httpPort,
      'GET /todos HTTP/1.1\r\nHost: test\r\nOdd Header\r\n\r\n',
    );
    expect(answer).to.match(/^HTTP\/1\.1 400 /);
    expect(answer.toLowerCase()).to.include('connection: close\r\n');
  });
});

// A request in flight on a worker whose host is then cut off (issue 19, item 2 of the front doors): with
// the front door's keepalive towards the workers (cluster/hosts/front-doors.ts, remoteWorkerLiveness)
// it ends within seconds, not after `timeout server` (300 s): a request HAProxy may send again (GET, a
// POST with an Idempotency-Key) is answered by another worker, an unkeyed POST gets the front door's JSON
// 502 bad_gateway and is never sent a second time. The real haproxy with the project's haproxy.cfg in
// the root namespace; a stand-in worker on a lab host (it holds every request) and one on loopback.
// Needs root on Linux with `ip netns`; skipped elsewhere, saying why.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { freePort } from '../../cluster/free-port';
import { haproxyArgs, haproxyPaths, writeHaproxyConfig } from '../../cluster/haproxy/config-files';
import { frontDoorServerLine, remoteWorkerLiveness } from '../../cluster/hosts/front-doors';
import { labUnavailable } from '../../cluster/lab/availability';
import { Lab } from '../../cluster/lab/network';
import type { LabSpec } from '../../cluster/lab/spec';
import { loadStackSettings } from '../../cluster/settings';
import { systemBinary } from '../../cluster/system-packages';
import { exited, killOnExit } from '../support/processes';
import { waitFor } from '../support/wait';
import { testLabSpec } from './support/test-spec';

const SPEC: LabSpec = { ...testLabSpec('c', 8), hosts: 1 };
const REMOTE_PORT = 8000;

/** Prints each request it gets (`got <method> <url>`); holds it, or answers it when HOLD is 0. Its
 *  /readyz answers 200 once the file READY_FILE exists (none: at once). */
const STANDIN = `
const http = require('node:http');
const fs = require('node:fs');
const [host, port, name, hold, readyFile] = process.argv.slice(1);
http.createServer((req, res) => {
  res.setHeader('content-type', 'application/json');
  if (req.url === '/healthz') return res.end('{"status":"ok"}');
  if (req.url === '/readyz') {
    if (readyFile && !fs.existsSync(readyFile)) { res.statusCode = 503; return res.end('{}'); }
    return res.end('{"status":"ready"}');
  }
  console.log('got', req.method, req.url);
  req.resume();
  if (hold === '0') res.end(JSON.stringify({ by: name }));
}).listen(Number(port), host, () => console.log('listening'));
`;

interface Answer {
  status: number;
  body: unknown;
  ms: number;
}

function ask(url: string, method: string, headers: Record<string, string> = {}): Promise<Answer> {
  const started = Date.now();
  return new Promise((resolve) => {
    const request = http.request(url, { method, headers, agent: false }, (response) => {
      let text = '';
      response.on('data', (chunk: Buffer) => (text += chunk.toString()));
      response.on('end', () => {
        let body: unknown = text;
        try {
          body = JSON.parse(text);
        } catch {
          // Not JSON: kept as text, and the assertion says so.
        }
        resolve({ status: response.statusCode ?? 0, body, ms: Date.now() - started });
      });
    });
    // Far above what the test allows, far below timeout server: a request left waiting shows as 0.
    request.setTimeout(60_000, () => request.destroy(new Error('client timeout')));
    request.on('error', () => resolve({ status: 0, body: null, ms: Date.now() - started }));
    request.end(method === 'POST' ? '{"item":"x"}' : undefined);
  });
}

function started(child: ChildProcess, seen: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    child.stdout!.on('data', (chunk: Buffer) => {
      for (const line of chunk.toString().split('\n')) {
        if (line === 'listening') resolve();
        else if (line.startsWith('got ')) seen.push(line.slice(4));
      }
    });
    child.once('exit', (code) => reject(new Error(`a stand-in worker exited with ${code}`)));
  });
}

describe("the front door's requests on a worker whose host is cut off", function () {
  this.timeout(120_000);
  let lab: Lab | undefined;
  let dir: string;
  const children: ChildProcess[] = [];

  before(function () {
    const why = labUnavailable(SPEC.prefix);
    if (why) {
      console.log(`      skipped: ${why}`);
      this.skip();
    }
    lab = Lab.up(SPEC);
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kh-front-door-cut-'));
  });

  after(async function () {
    for (const child of children) child.kill('SIGKILL');
    await Promise.all(children.map((child) => exited(child)));
    lab?.teardown();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('ends them within seconds: retried on another worker when safe, JSON 502 for an unkeyed POST, none sent twice', async function () {
    const remoteSeen: string[] = [];
    const localSeen: string[] = [];
    const readyFile = path.join(dir, 'local-ready');
    const localPort = await freePort();
    const remote = lab!.spawn(
      'h1',
      [process.execPath, '-e', STANDIN, '--', '0.0.0.0', String(REMOTE_PORT), 'remote', '1', ''],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    const local = spawn(
      process.execPath,
      ['-e', STANDIN, '--', '127.0.0.1', String(localPort), 'local', '0', readyFile],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    children.push(remote, local);
    killOnExit(local);
    await Promise.all([started(remote, remoteSeen), started(local, localSeen)]);

    const settings = loadStackSettings({
      MYSQL_HOST: '127.0.0.1',
      MYSQL_PORT: String(await freePort()),
      HAPROXY_PORT: String(await freePort()),
      HAPROXY_STATS_PORT: String(await freePort()),
      HTTP_PORT: String(await freePort()),
      WORKER_PORTS: String(localPort),
      STACK_DIR: dir,
      DB_PASSWORD: 'front-door-cut',
      DB_EXPORTER_PASSWORD: 'front-door-cut',
    });
    writeHaproxyConfig(settings);
    // The front door of a host over its own worker and another host's, as renderWorkerBackend renders it
    // with STACK_HOSTS (the same server lines and keepalive lines).
    const servers = [
      { name: 'local-worker', address: '127.0.0.1', port: localPort },
      { name: 'remote-worker', address: lab!.host('h1').address, port: REMOTE_PORT },
    ].map(frontDoorServerLine);
    fs.writeFileSync(
      haproxyPaths(settings).workers,
      [
        'backend workers from front-door',
        ...remoteWorkerLiveness(),
        ...servers,
        '',
        'backend workers-alive from front-door',
        '    option httpchk GET /healthz',
        ...remoteWorkerLiveness(),
        ...servers,
        '',
      ].join('\n'),
    );
    const haproxy = spawn(systemBinary('haproxy'), haproxyArgs(settings), { stdio: 'ignore' });
    children.push(haproxy);
    killOnExit(haproxy);
    const stats = `http://127.0.0.1:${settings.haproxy.statsPort}/stats;csv`;
    const state = async (server: string) =>
      (await (await fetch(stats)).text())
        .split('\n')
        .find((line) => line.startsWith(`workers,${server},`))
        ?.split(',')[17];
    await waitFor(
      'the remote worker UP',
      async () => ((await state('remote-worker')) === 'UP' ? true : undefined),
      15_000,
      100,
    );

    // Only the remote worker is ready: every request goes to it, and it holds them.
    const front = `http://127.0.0.1:${settings.haproxy.httpPort}`;
    const pending = {
      get: ask(`${front}/todos/1`, 'GET'),
      keyed: ask(`${front}/todos`, 'POST', { 'Idempotency-Key': 'cut-keyed', 'content-type': 'application/json' }),
      unkeyed: ask(`${front}/todos?unkeyed`, 'POST', { 'content-type': 'application/json' }),
    };
    await waitFor(
      'the three requests held by the remote worker',
      () => (remoteSeen.length === 3 ? true : undefined),
      10_000,
      50,
    );
    // Now the local worker is ready too, and the remote one's host is cut off.
    fs.writeFileSync(readyFile, '');
    await waitFor(
      'the local worker UP',
      async () => ((await state('local-worker')) === 'UP' ? true : undefined),
      10_000,
      100,
    );
    const cutAt = Date.now();
    lab!.partition('h1');
    const [get, keyed, unkeyed] = await Promise.all([pending.get, pending.keyed, pending.unkeyed]);
    const endedAfter = Date.now() - cutAt;
    console.log(`      all three answered ${endedAfter} ms after the cut`);

    expect([get.status, get.body]).to.deep.equal([200, { by: 'local' }]);
    expect([keyed.status, keyed.body]).to.deep.equal([200, { by: 'local' }]);
    expect(unkeyed.status).to.equal(502);
    expect(unkeyed.body).to.deep.include({
      error: 'bad_gateway',
      message: 'The worker failed before it answered; the request may or may not have been applied.',
    });
    // Within seconds of the cut (keepalive: ~3-4 s), nowhere near the 300 s timeout server.
    expect(endedAfter).to.be.below(15_000);
    // Each sent to the remote worker once; only the two safe ones sent again, to the local worker.
    expect(remoteSeen.sort()).to.deep.equal(['GET /todos/1', 'POST /todos', 'POST /todos?unkeyed']);
    expect(localSeen.sort()).to.deep.equal(['GET /todos/1', 'POST /todos']);
  });
});

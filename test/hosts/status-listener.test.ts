// The status listener every host's HAProxy serves its writer through (cluster/hosts/status-listener.ts),
// rendered and then run by the real haproxy on loopback: with a client certificate of the stack CA,
// readProxyView gets the writer its stick table holds and its view of the nodes; a client without one,
// or with one of another CA, is refused in the handshake; nothing but /writer and /stats is served.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import https from 'node:https';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { ensureGaleraCertificatesSync } from '../../cluster/database/galera/certificates';
import { galeraLayoutOf } from '../../cluster/database/galera/env';
import type { GaleraLayout } from '../../cluster/database/galera/layout';
import { freePort } from '../../cluster/free-port';
import { readProxyView, type ClientTls } from '../../cluster/hosts/read-proxies';
import { renderStatusListener } from '../../cluster/hosts/status-listener';
import { loadStackSettings } from '../../cluster/settings';
import { systemBinary } from '../../cluster/system-packages';
import { exited, killOnExit } from '../support/processes';
import { waitFor } from '../support/wait';

function certificates(dir: string): GaleraLayout {
  const layout = galeraLayoutOf(loadStackSettings({ STACK_DIR: dir, DB_TOPOLOGY: 'galera' }));
  ensureGaleraCertificatesSync(layout);
  return layout;
}

const clientOf = (layout: GaleraLayout, node: number): ClientTls => ({
  ca: fs.readFileSync(layout.tls.ca, 'utf8'),
  cert: fs.readFileSync(layout.nodes[node]!.tls.cert, 'utf8'),
  key: fs.readFileSync(layout.nodes[node]!.tls.key, 'utf8'),
});

describe('renderStatusListener(options) under the real haproxy', function () {
  this.timeout(60_000);
  let dir: string;
  let layout: GaleraLayout;
  let haproxy: ChildProcess;
  let node: net.Server;
  let port: number;
  let frontPort: number;
  const here = { name: 'h1', address: '127.0.0.1' };

  before(async function () {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kh-status-listener-'));
    layout = certificates(path.join(dir, 'stack'));
    const pem = path.join(dir, 'peers.pem');
    fs.writeFileSync(
      pem,
      `${fs.readFileSync(layout.nodes[0]!.tls.cert, 'utf8')}${fs.readFileSync(layout.nodes[0]!.tls.key, 'utf8')}`,
      { mode: 0o600 },
    );
    // A stand-in node (n2 and n3) that answers and closes; n1's port has no listener, so n1 is DOWN.
    // (Checked every 1 s: with no `timeout check` the check's own limit is `inter`.)
    node = net.createServer((socket) => socket.end('node\n'));
    await new Promise<void>((resolve) => node.listen(0, '127.0.0.1', resolve));
    const nodePort = (node.address() as net.AddressInfo).port;
    [port, frontPort] = [await freePort(), await freePort()];
    const down = await freePort();
    const config = [
      'defaults d',
      '    timeout connect 1s',
      '    timeout client 5s',
      '    timeout server 5s',
      'backend mysql from d',
      '    mode tcp',
      '    stick-table type integer size 1',
      '    stick on int(1)',
      `    server n1 127.0.0.1:${down} check inter 200ms`,
      `    server n2 127.0.0.1:${nodePort} check inter 1s backup`,
      `    server n3 127.0.0.1:${nodePort} check inter 1s backup`,
      'frontend f from d',
      '    mode tcp',
      `    bind 127.0.0.1:${frontPort}`,
      '    default_backend mysql',
      renderStatusListener({
        name: 'kh-status',
        address: here.address,
        port,
        tls: { crt: pem, caFile: layout.tls.ca },
        defaults: 'd',
      }),
    ].join('\n');
    fs.writeFileSync(path.join(dir, 'haproxy.cfg'), config);
    // Its output (check state changes) is not the test's: ignored.
    haproxy = spawn(systemBinary('haproxy'), ['-db', '-f', path.join(dir, 'haproxy.cfg')], { stdio: 'ignore' });
    killOnExit(haproxy);
    await waitFor(
      'n1 DOWN and the others UP in the status listener',
      async () => {
        const view = await readProxyView(here, port, clientOf(layout, 1), 1000);
        const { n1, n2, n3 } = view.nodes;
        return n1 === 'DOWN' && n2 === 'UP' && n3 === 'UP' ? view : undefined;
      },
      15_000,
      100,
    );
  });

  after(async function () {
    haproxy?.kill('SIGTERM');
    if (haproxy) await exited(haproxy);
    node?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('is valid for haproxy -c without a warning', function () {
    const check = spawn(systemBinary('haproxy'), ['-c', '-f', path.join(dir, 'haproxy.cfg')]);
    let output = '';
    check.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    check.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    return new Promise<void>((resolve) =>
      check.on('close', (code) => {
        expect({ code, output }).to.deep.equal({ code: 0, output: 'Configuration file is valid\n' });
        resolve();
      }),
    );
  });

  it('says the table is empty before any connection, with the nodes as its checks see them', async function () {
    expect(await readProxyView(here, port, clientOf(layout, 1))).to.deep.equal({
      host: 'h1',
      address: '127.0.0.1',
      reachable: true,
      nodes: { n1: 'DOWN', n2: 'UP', n3: 'UP' },
    });
  });

  it('names the node a connection was stuck to (n2, the first backup UP)', async function () {
    await new Promise<void>((resolve, reject) => {
      const socket = net.connect(frontPort, '127.0.0.1');
      socket.on('data', () => socket.destroy());
      socket.on('close', () => resolve());
      socket.on('error', reject);
    });
    const view = await waitFor(
      'the stick table to name a server',
      async () => {
        const got = await readProxyView(here, port, clientOf(layout, 2));
        return got.writer ? got : undefined;
      },
      5000,
      100,
    );
    expect(view.writer).to.equal('n2');
  });

  it('refuses a client certificate of another CA, and a client without one', async function () {
    const other = certificates(path.join(dir, 'other'));
    const foreign = await readProxyView(here, port, {
      ...clientOf(other, 0),
      ca: fs.readFileSync(layout.tls.ca, 'utf8'),
    });
    expect(foreign.reachable, JSON.stringify(foreign)).to.equal(false);
    const anonymous = await readProxyView(here, port, { ...clientOf(layout, 1), cert: '', key: '' });
    expect(anonymous.reachable, JSON.stringify(anonymous)).to.equal(false);
  });

  it('answers 404 for anything but /writer and /stats', async function () {
    const status = await new Promise<number>((resolve, reject) => {
      const request = https.get(
        `https://127.0.0.1:${port}/metrics`,
        { ...clientOf(layout, 1), checkServerIdentity: () => undefined, agent: false },
        (response) => {
          response.resume();
          resolve(response.statusCode ?? 0);
        },
      );
      request.on('error', reject);
    });
    expect(status).to.equal(404);
  });
});

// The lab on the real kernel: three namespaced hosts on a bridge, a TCP server on one answering a
// client on another, a partition that silences it and a heal that brings it back, and a teardown (also
// after the builder was SIGKILLed) that leaves no namespace, link or process. Needs root on Linux with
// `ip netns`; skipped elsewhere, saying why.
import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { expect } from 'chai';
import { labUnavailable } from '../../cluster/lab/availability';
import { links, namespaces } from '../../cluster/lab/ip';
import { belongsToLab } from '../../cluster/lab/names';
import { Lab } from '../../cluster/lab/network';
import type { LabSpec } from '../../cluster/lab/spec';
import { testLabSpec } from './support/test-spec';
import { sweepLab } from '../../cluster/lab/sweep';
import { exited, killOnExit } from '../support/processes';
import { waitFor } from '../support/wait';
import { alive, CLIENT_SCRIPT, IGNORES_SIGTERM_SCRIPT, SERVER_SCRIPT } from './support/probes';

// Its own prefix and /24, so a lab a user has up under the default (khl, 10.77.0) is left alone.
const SPEC: LabSpec = testLabSpec('t', 1);
const PORT = 7000;
// Long enough for a loaded machine to answer across the bridge; a partitioned host never answers.
const CONNECT_MS = 2000;

/** Whatever a failed run left: a synchronous sweep, so it also runs from the 'exit' handler. */
function sweepOnExit(): void {
  try {
    sweepLab(SPEC.prefix, 0);
  } catch (error) {
    console.error(`The lab test could not sweep its lab: ${(error as Error).message}`);
  }
}

function leftovers(): string[] {
  return [...namespaces(), ...links().map((l) => l.ifname)].filter((name) => belongsToLab(SPEC.prefix, name));
}

/** Runs the client inside `from` against host:port; resolves with what it printed. */
function connectFrom(lab: Lab, from: string, host: string): Promise<string> {
  const client = lab.spawn(from, [process.execPath, '-e', CLIENT_SCRIPT, host, String(PORT), String(CONNECT_MS)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  killOnExit(client);
  let output = '';
  client.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  return exited(client).then(() => output.trim());
}

/** Connects from this process, over the lab's client port. */
function connectHere(host: string): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect(PORT, host);
    socket.setTimeout(CONNECT_MS, () => (socket.destroy(), resolve('timeout')));
    socket.once('data', (data) => (socket.destroy(), resolve(String(data).trim())));
    socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
  });
}

function startServer(lab: Lab, host: string): Promise<ChildProcess> {
  const server = lab.spawn(host, [process.execPath, '-e', SERVER_SCRIPT, lab.host(host).address, String(PORT)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  killOnExit(server);
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.once('exit', (code) => reject(new Error(`The server in ${host} exited with ${code}.`)));
    server.stdout!.once('data', () => resolve(server));
  });
}

describe('Lab (network namespaces on a bridge)', function () {
  this.timeout(60_000);

  before(function () {
    const unavailable = labUnavailable(SPEC.prefix);
    if (unavailable !== undefined) {
      console.log(`      skipped: ${unavailable}`);
      this.skip();
    }
    process.once('exit', sweepOnExit);
  });

  describe('Lab.up(spec), partition(host), heal(host), kill(host), teardown()', function () {
    let lab: Lab;
    let server: ChildProcess;

    before(async function () {
      lab = Lab.up(SPEC);
      server = await startServer(lab, 'h1');
    });

    after(function () {
      if (lab) lab.teardown(0);
    });

    it('gives each host its address, and a server in h1 answers a client in h2 and this machine', async function () {
      expect(lab.status().hosts.map((h) => [h.name, h.address, h.connected])).to.deep.equal([
        ['h1', `${SPEC.subnet}.1`, true],
        ['h2', `${SPEC.subnet}.2`, true],
        ['h3', `${SPEC.subnet}.3`, true],
      ]);
      expect(lab.status().hosts[0]!.pids).to.deep.equal([server.pid]);
      expect(await connectFrom(lab, 'h2', `${SPEC.subnet}.1`)).to.equal('pong');
      expect(await connectHere(`${SPEC.subnet}.1`)).to.equal('pong');
    });

    it('leaves the partitioned host unreachable: the connect times out, from h2 and from here', async function () {
      lab.partition('h1');
      expect(lab.status().hosts.map((h) => h.connected)).to.deep.equal([false, true, true]);
      expect(await connectFrom(lab, 'h2', `${SPEC.subnet}.1`)).to.equal('timeout');
      expect(await connectHere(`${SPEC.subnet}.1`)).to.equal('timeout');
    });

    it('answers again once healed', async function () {
      lab.heal('h1');
      expect(lab.status().hosts[0]!.connected).to.equal(true);
      const answer = await waitFor(
        'h1 to answer h2 again',
        async () => {
          const got = await connectFrom(lab, 'h2', `${SPEC.subnet}.1`);
          return got === 'pong' ? got : undefined;
        },
        20_000,
        100,
      );
      expect(answer).to.equal('pong');
    });

    it('kill(host) SIGKILLs every process of the host and leaves its network as it was', async function () {
      const killed = server;
      expect(lab.kill('h1')).to.deep.equal([killed.pid]);
      await exited(killed);
      expect(killed.signalCode).to.equal('SIGKILL');
      expect(lab.status().hosts[0]).to.include({ connected: true }).and.to.have.property('pids').that.deep.equals([]);
      server = await startServer(lab, 'h1');
      expect(await connectFrom(lab, 'h2', `${SPEC.subnet}.1`)).to.equal('pong');
    });

    it('teardown() ends every process (SIGKILL for one that ignores SIGTERM) and leaves no namespace, bridge or veth', async function () {
      const stubborn = lab.spawn('h3', [process.execPath, '-e', IGNORES_SIGTERM_SCRIPT], {
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      killOnExit(stubborn);
      await new Promise((resolve) => stubborn.stdout!.once('data', resolve));
      const report = lab.teardown(500);
      expect(report.killed.sort()).to.deep.equal([server.pid, stubborn.pid].sort());
      expect(report.namespaces.sort()).to.deep.equal(['h1', 'h2', 'h3', 'net'].map((part) => `${SPEC.prefix}-${part}`));
      await Promise.all([exited(server), exited(stubborn)]);
      expect(server.signalCode).to.equal('SIGTERM');
      expect(stubborn.signalCode).to.equal('SIGKILL');
      expect(leftovers()).to.deep.equal([]);
      expect(lab.status().up).to.equal(false);
    });
  });

  describe('after the process that built the lab was SIGKILLed', function () {
    it('the next Lab.up() sweeps the stale lab first, its orphaned server included, and teardown() leaves nothing', async function () {
      const builder = spawn(
        process.execPath,
        ['--import', 'tsx', path.join(__dirname, 'support/crashing-builder.ts')],
        {
          env: { ...process.env, LAB_PREFIX: SPEC.prefix, LAB_SUBNET: SPEC.subnet, LAB_HOSTS: String(SPEC.hosts) },
          stdio: ['ignore', 'pipe', 'inherit'],
        },
      );
      killOnExit(builder);
      let output = '';
      builder.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
      const orphan = await waitFor(
        'the builder to start its server',
        () => {
          const pid = /server (\d+)/.exec(output)?.[1];
          return pid === undefined ? undefined : Number(pid);
        },
        30_000,
      );
      builder.kill('SIGKILL');
      await exited(builder);

      expect(alive(orphan), 'the server outlives its builder').to.equal(true);
      expect(leftovers().sort()).to.deep.equal(['c0', 'h1', 'h2', 'h3', 'net'].map((part) => `${SPEC.prefix}-${part}`));

      const lab = Lab.up(SPEC);
      try {
        await waitFor('the orphaned server to be gone', () => (alive(orphan) ? undefined : true), 5000);
        expect(lab.status().hosts.map((h) => [h.pids, h.connected])).to.deep.equal([
          [[], true],
          [[], true],
          [[], true],
        ]);
      } finally {
        lab.teardown();
      }
      expect(leftovers()).to.deep.equal([]);
    });
  });
});

// The whole tier over three namespaced hosts (issue 19, wiring step 3): one topology file, `npm start`
// inside each host under its own STACK_DIR and PM2_HOME, each host running its own Galera node, agent,
// HAProxy (sharing the writer through the peers) and workers. A todo POSTed through host 1's front door
// is read through host 3's front door (its worker, its HAProxy, the writer across the bridge) and is on
// host 3's own node (replicated). Needs root on Linux with `ip netns`; skipped elsewhere, saying why.
//
// The tier is the lab tier (./support/tier.ts, which says what stands in for a user's copies between
// hosts) that tier.under-faults.test.ts shares (./support/shared-tier.ts): these checks of a freshly
// started tier run first, and leave it as they found it (h1's workers stopped are started again).
import tls from 'node:tls';
import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import mysql from 'mysql2/promise';
import { haproxyCommand, stickTableServer } from '../../cluster/haproxy/stats';
import { loadStackSettings, PROJECT_ROOT } from '../../cluster/settings';
import { sharedTierOrSkip } from './support/shared-tier';
import { runInHost, type LabTier } from './support/tier';

describe('the tier on three namespaced hosts (npm start on each)', function () {
  this.timeout(20 * 60_000);
  let tier: LabTier;
  const run = (host: string, argv: string[], env: Record<string, string>, timeoutMs: number) =>
    runInHost(tier.lab, host, argv, env, timeoutMs);
  const hostEnv = (host: string) => tier.hostEnv(host);

  before(async function () {
    // The tier the fault tests share (./support/shared-tier.ts), started here when this file runs first.
    tier = await sharedTierOrSkip(this, 'check');
  });

  it("a todo POSTed through h1's front door is read through h3's, and is on h3's own node", async function () {
    const created = await run(
      'h1',
      [
        'curl',
        '-sS',
        '--max-time',
        '10',
        '-X',
        'POST',
        '-H',
        'content-type: application/json',
        '-d',
        '{"item":"across the hosts"}',
        'http://127.0.0.1:8080/todos',
      ],
      {},
      30_000,
    );
    expect(created.code, created.output).to.equal(0);
    const todo = JSON.parse(created.output) as { id: number; item: string };
    expect(todo.item).to.equal('across the hosts');
    const read = await run(
      'h3',
      ['curl', '-sS', '--max-time', '10', '-w', '\\n%{http_code}', `http://127.0.0.1:8080/todos/${todo.id}`],
      {},
      30_000,
    );
    const [body, status] = read.output.trim().split('\n');
    expect([status, (JSON.parse(body!) as { item: string }).item]).to.deep.equal(['200', 'across the hosts']);
    // h3's own node has it (replicated), read over its socket as the OS user.
    const connection = await mysql.createConnection(tier.nodeLogin('n3'));
    try {
      const [rows] = await connection.query<mysql.RowDataPacket[]>('SELECT item FROM test.todos WHERE id = ?', [
        todo.id,
      ]);
      expect(rows.map((row) => row.item as string)).to.deep.equal(['across the hosts']);
    } finally {
      await connection.end();
    }
  });

  it('every node is Synced in one Primary component of 3, and every proxy names the same writer', async function () {
    for (const host of ['h1', 'h2', 'h3']) {
      const status = await run(host, ['npm', 'run', '--silent', 'status', '--', '--json'], hostEnv(host), 60_000);
      const rows = JSON.parse(status.output.slice(status.output.indexOf('['))) as {
        name: string;
        status: string;
        galera?: { ok: boolean; clusterSize: string };
      }[];
      const nodes = rows.filter((row) => row.galera).sort((a, b) => a.name.localeCompare(b.name));
      expect(
        nodes.map((row) => [
          row.name,
          row.status === 'online' ? 'here' : row.status,
          row.galera!.ok,
          row.galera!.clusterSize,
        ]),
        `status on ${host}`,
      ).to.deep.equal(
        ['n1', 'n2', 'n3'].map((node) => [
          `kh-galera-${node}`,
          node === `n${host.slice(1)}` ? 'here' : 'remote',
          true,
          '3',
        ]),
      );
    }
    const writers = await Promise.all(['h1', 'h2', 'h3'].map((host) => stickTableServer(tier.statsSocket(host))));
    expect(writers).to.deep.equal(['n1', 'n1', 'n1']);
  });
  it("with h1's workers stopped, h1's front door (at its host address) is served by the other hosts' workers", async function () {
    const socket = tier.statsSocket('h1');
    // Sessions each server of h1's `workers` backend has taken so far (`show stat`: stot).
    const served = async (): Promise<Map<string, { status: string; total: number }>> => {
      const csv = (await haproxyCommand(socket, 'show stat')) ?? '';
      const lines = csv.split('\n').filter((line) => line.trim() !== '');
      const header = (lines.shift() ?? '').replace(/^#\s*/, '').split(',');
      const [px, sv, st, stot] = ['pxname', 'svname', 'status', 'stot'].map((name) => header.indexOf(name));
      const rows = new Map<string, { status: string; total: number }>();
      for (const cells of lines.map((line) => line.split(','))) {
        if (cells[px!] === 'workers' && /-worker-/.test(cells[sv!] ?? '')) {
          rows.set(cells[sv!]!, { status: cells[st!]!, total: Number(cells[stot!]) });
        }
      }
      return rows;
    };
    const before = await served();
    expect([...before.keys()].sort(), "h1's front door lists every host's workers").to.deep.equal(
      ['h1', 'h2', 'h3'].flatMap((host) => [`kh-${host}-worker-8000`, `kh-${host}-worker-8001`]),
    );
    const pm2 = path.join(PROJECT_ROOT, 'node_modules', '.bin', 'pm2');
    const stopped = await run('h1', [pm2, 'stop', 'kh-h1-worker-8000', 'kh-h1-worker-8001'], hostEnv('h1'), 60_000);
    expect(stopped.code, stopped.output).to.equal(0);
    try {
      // h1's proxy sees its own workers DOWN (fall 2 at 250 ms), bounded at 30 s.
      const deadline = Date.now() + 30_000;
      for (;;) {
        const rows = await served();
        const h1 = [...rows].filter(([name]) => name.startsWith('kh-h1-')).map(([, row]) => row.status);
        if (h1.every((status) => status.startsWith('DOWN'))) break;
        if (Date.now() > deadline) throw new Error(`h1's workers still ${h1.join(', ')} after 30 s`);
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
      const mark = await served();
      // From this machine over the client port: h1's front door on its host address.
      const base = `http://${tier.lab.hosts[0]!.address}:8080`;
      const created = await fetch(`${base}/todos`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ item: 'served from another host' }),
        signal: AbortSignal.timeout(10_000),
      });
      expect(created.status).to.equal(201);
      const todo = (await created.json()) as { id: number };
      for (let i = 0; i < 10; i++) {
        const read = await fetch(`${base}/todos/${todo.id}`, { signal: AbortSignal.timeout(10_000) });
        expect(read.status).to.equal(200);
        expect(((await read.json()) as { item: string }).item).to.equal('served from another host');
      }
      const after = await served();
      const delta = (prefix: string) =>
        [...after]
          .filter(([name]) => name.startsWith(prefix))
          .reduce((sum, [name, row]) => sum + row.total - (mark.get(name)?.total ?? 0), 0);
      expect({ h1: delta('kh-h1-'), others: delta('kh-h2-') + delta('kh-h3-') }).to.deep.equal({ h1: 0, others: 11 });
      // Equal weight: both other hosts took some of the 11 (leastconn spreads sequential requests).
      expect(delta('kh-h2-'), 'h2 served some').to.be.greaterThan(0);
      expect(delta('kh-h3-'), 'h3 served some').to.be.greaterThan(0);
    } finally {
      const restarted = await run(
        'h1',
        [pm2, 'start', 'kh-h1-worker-8000', 'kh-h1-worker-8001'],
        hostEnv('h1'),
        60_000,
      );
      expect(restarted.code, restarted.output).to.equal(0);
    }
  });
  describe('MySQL between hosts is TLS (item 4)', function () {
    // As the app account, from h2's namespace, with the mariadb client; `sql` prints tab-separated rows.
    const login = (target: string[], tls: string[], sql: string) => {
      const settings = loadStackSettings(hostEnv('h2'));
      return run(
        'h2',
        [
          'mariadb',
          '--no-defaults',
          '--connect-timeout=10',
          '-N',
          '-B',
          ...target,
          ...tls,
          `--user=${settings.database.appUser}`,
          `--password=${settings.database.appPassword}`,
          '-e',
          sql,
        ],
        {},
        30_000,
      );
    };
    const ca = () => path.join(tier.dir, 'h1', 'secrets', 'galera', 'ca.pem');
    const n1 = () => [`--host=${tier.lab.hosts[0]!.address}`, '--port=3311'];
    const cipher =
      "SELECT @@wsrep_node_name, VARIABLE_VALUE FROM information_schema.SESSION_STATUS WHERE VARIABLE_NAME = 'Ssl_cipher'";

    it("a login without TLS from h2 to n1's address is refused (1045)", async function () {
      const plain = await login(n1(), ['--skip-ssl'], 'SELECT 1');
      expect(plain.code).to.not.equal(0);
      // Refused as coming from h2's own address (the lab's subnet moves with LAB_TEST_ID).
      const h2 = tier.lab.hosts[1]!.address.replaceAll('.', '\\.');
      expect(plain.output).to.match(new RegExp(`ERROR 1045 .*Access denied for user '[^']+'@'${h2}'`));
    });

    it("a TLS login from h2 to n1 works, the server's certificate verified for n1's address", async function () {
      const tls = await login(n1(), ['--ssl', `--ssl-ca=${ca()}`, '--ssl-verify-server-cert'], cipher);
      expect(tls.code, tls.output).to.equal(0);
      const [node, suite] = tls.output.trim().split('\t');
      expect(node).to.equal('n1');
      expect(suite).to.match(/^TLS_|^ECDHE-/);
    });

    it("through h2's HAProxy (as h2's workers connect) the writer n1 takes TLS only", async function () {
      const proxy = ['--host=127.0.0.1', '--port=5555'];
      const plain = await login(proxy, ['--skip-ssl'], 'SELECT 1');
      expect(plain.output).to.match(/ERROR 1045 /);
      const tls = await login(proxy, ['--ssl', `--ssl-ca=${ca()}`], cipher);
      expect(tls.code, tls.output).to.equal(0);
      const [node, suite] = tls.output.trim().split('\t');
      expect([node, suite !== '' && suite !== undefined]).to.deep.equal(['n1', true]);
    });

    it("h1's own node, over loopback inside h1, still takes a plain login", async function () {
      const settings = loadStackSettings(hostEnv('h1'));
      const plain = await run(
        'h1',
        [
          'mariadb',
          '--no-defaults',
          '-N',
          '-B',
          '--host=127.0.0.1',
          '--port=3311',
          '--skip-ssl',
          `--user=${settings.database.appUser}`,
          `--password=${settings.database.appPassword}`,
          '-e',
          'SELECT CURRENT_USER()',
        ],
        {},
        30_000,
      );
      expect(plain.code, plain.output).to.equal(0);
      expect(plain.output.trim()).to.equal(`${settings.database.appUser}@%`);
    });
  });
  describe("the proxies' peers (the writer table) are mutual TLS", function () {
    const handshake = (options: tls.ConnectionOptions): Promise<string> =>
      new Promise((resolve) => {
        const socket = tls.connect({
          host: tier.lab.hosts[0]!.address,
          port: 10000,
          ...options,
          checkServerIdentity: () => undefined,
        });
        const done = (what: string) => {
          socket.destroy();
          resolve(what);
        };
        socket.setTimeout(10_000, () => done('timeout'));
        // TLS 1.3: the server's verdict on the client's certificate comes after the client's handshake.
        socket.on('secureConnect', () => setTimeout(() => done(socket.authorized ? 'accepted' : 'unauthorized'), 1000));
        socket.on('error', (error) => done(`error: ${error.message}`));
      });
    const secrets = () => path.join(tier.dir, 'h1', 'secrets', 'galera');

    it('every proxy has its two peers established over TLS', async function () {
      const deadline = Date.now() + 30_000;
      for (const host of ['h1', 'h2', 'h3']) {
        for (;;) {
          const text = (await haproxyCommand(tier.statsSocket(host), 'show peers')) ?? '';
          const established = text.split('\n').filter((line) => /id=h\d.*last_status=ESTA/.test(line));
          if (established.length === 2) break;
          if (Date.now() > deadline) throw new Error(`${host}'s peers not established:\n${text}`);
          await new Promise((resolve) => setTimeout(resolve, 500));
        }
      }
    });

    it("h1's peers port refuses a TLS client without a certificate of the stack CA, and takes one with", async function () {
      const ca = fs.readFileSync(path.join(secrets(), 'ca.pem'));
      expect(await handshake({ ca })).to.match(/^error: .*(certificate required|alert|handshake)/i);
      const accepted = await handshake({
        ca,
        cert: fs.readFileSync(path.join(secrets(), 'n2', 'cert.pem')),
        key: fs.readFileSync(path.join(secrets(), 'n2', 'key.pem')),
      });
      expect(accepted).to.equal('accepted');
    });
  });
});

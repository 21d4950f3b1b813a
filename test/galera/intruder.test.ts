// Another local user against the stack's Galera cluster (issue 15, item 1): a real three-node cluster
// on free ports in a temp dir, started once for this file as the node runner starts it, and an intruder
// mariadbd run as `nobody` with its own datadir and the cluster name and gcomm:// address read from
// `ps`. Group communication, IST and SST are TLS with the stack's CA (galera/certificates.ts), so the
// intruder is refused: the cluster stays at three nodes and no state transfer reaches the intruder.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes, X509Certificate } from 'node:crypto';
import fs from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { expect } from 'chai';
import mysql from 'mysql2/promise';
import { galeraProvider } from '../../cluster/database/galera/args';
import { decideOwnStart } from '../../cluster/database/galera/coordinate';
import { galeraLayoutFromEnv } from '../../cluster/database/galera/env';
import { freeGaleraBasePorts } from '../../cluster/database/galera/free-base-ports';
import type { GaleraLayout, GaleraNode } from '../../cluster/database/galera/layout';
import { nodeAdminLogin, spawnNode, waitUntilSynced, type RunningNode } from '../../cluster/database/galera/node';
import { readWsrepStatus } from '../../cluster/database/galera/wsrep-status';
import { freePort } from '../../cluster/free-port';
import { systemBinary } from '../../cluster/system-packages';
import { exited, forgetFolder, killOnExit, removeOnExit } from '../support/processes';
import { waitFor } from '../support/wait';

const SYNCED_TIMEOUT_MS = 90_000;
const INTRUDER = 'nobody';

async function query<T = mysql.RowDataPacket[]>(node: GaleraNode, sql: string, values?: unknown[]): Promise<T> {
  const connection = await mysql.createConnection({ ...nodeAdminLogin(node), connectTimeout: 2000 });
  try {
    const [rows] = await connection.query(sql, values);
    return rows as T;
  } finally {
    await connection.end();
  }
}

async function clusterSizes(layout: GaleraLayout): Promise<string[]> {
  return Promise.all(
    layout.nodes.map(async (node) => (await readWsrepStatus(nodeAdminLogin(node), 2000)).wsrep_cluster_size ?? '?'),
  );
}

/** What `ps` shows every local user of a process: its command line. Read as the intruder. */
function psArgs(pid: number): string {
  const result = spawnSync('runuser', ['-u', INTRUDER, '--', 'ps', '-ww', '-o', 'args=', '-p', String(pid)], {
    encoding: 'utf8',
  });
  if (result.status !== 0) throw new Error(`ps as ${INTRUDER} failed: ${result.stderr}`);
  return result.stdout.trim();
}

function option(args: string, name: string): string {
  const found = args.split(/\s+/).find((arg) => arg.startsWith(`--${name}=`));
  if (found === undefined) throw new Error(`No --${name} in: ${args}`);
  return found.slice(name.length + 3);
}

interface Intruder {
  folder: string;
  datadir: string;
  logFile: string;
  child: ChildProcess;
  /** Resolves with mariadbd's exit code. */
  done: Promise<number | null>;
}

/**
 * A joiner as another OS user would start it: its own folder (owned by `nobody`), the cluster's name and
 * address as ps shows them, rsync SST into its empty datadir; `tlsOptions` adds its provider's socket.ssl_*.
 * It gives up after 10 s without a Primary component (Galera's default is 30 s).
 */
async function startIntruder(
  cluster: { name: string; address: string },
  prepare?: (folder: string) => string[],
): Promise<Intruder> {
  const folder = await mkdtemp(path.join(os.tmpdir(), 'kh-galera-intruder-'));
  removeOnExit(folder);
  const datadir = path.join(folder, 'data');
  fs.mkdirSync(datadir);
  const ssl = prepare?.(folder) ?? [];
  const uid = Number(spawnSync('id', ['-u', INTRUDER], { encoding: 'utf8' }).stdout.trim());
  const gid = Number(spawnSync('id', ['-g', INTRUDER], { encoding: 'utf8' }).stdout.trim());
  fs.chmodSync(folder, 0o755);
  for (const entry of [folder, datadir, ...fs.readdirSync(folder).map((name) => path.join(folder, name))])
    fs.chownSync(entry, uid, gid);
  const [client, group, ist, sst] = [await freePort(), await freePort(), await freePort(), await freePort()];
  const logFile = path.join(folder, 'mysqld.err');
  const args = [
    '--no-defaults',
    `--datadir=${datadir}`,
    `--port=${client}`,
    '--bind-address=127.0.0.1',
    `--socket=${path.join(folder, 'mysqld.sock')}`,
    `--pid-file=${path.join(folder, 'mysqld.pid')}`,
    `--log-error=${logFile}`,
    `--tmpdir=${folder}`,
    '--innodb-buffer-pool-size=32M',
    '--wsrep-on=ON',
    `--wsrep-provider=${galeraProvider()}`,
    `--wsrep-cluster-name=${cluster.name}`,
    `--wsrep-cluster-address=${cluster.address}`,
    '--wsrep-node-name=intruder',
    `--wsrep-node-address=127.0.0.1:${group}`,
    `--wsrep-provider-options=${[
      `gmcast.listen_addr=tcp://127.0.0.1:${group}`,
      `ist.recv_addr=127.0.0.1:${ist}`,
      'gcache.size=8M',
      'pc.wait_prim_timeout=PT10S',
      ...ssl,
    ].join(';')}`,
    '--wsrep-sst-method=rsync',
    `--wsrep-sst-receive-address=127.0.0.1:${sst}`,
    '--binlog-format=ROW',
    '--innodb-autoinc-lock-mode=2',
  ];
  // setpriv execs mariadbd itself (runuser would stay its parent), so killing the child kills the server.
  const child = spawn(
    'setpriv',
    [`--reuid=${uid}`, `--regid=${gid}`, '--clear-groups', '--', systemBinary('mariadbd'), ...args],
    {
      stdio: 'ignore',
      env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' },
    },
  );
  killOnExit(child);
  const done = exited(child).then(() => child.exitCode);
  return { folder, datadir, logFile, child, done };
}

async function stopIntruder(intruder: Intruder | undefined): Promise<void> {
  if (!intruder) return;
  intruder.child.kill('SIGKILL');
  await intruder.done;
  await rm(intruder.folder, { recursive: true, force: true });
  forgetFolder(intruder.folder);
}

/** Every file under `dir`, relative, with its content. */
function filesUnder(dir: string): { name: string; content: Buffer }[] {
  return (fs.readdirSync(dir, { recursive: true, withFileTypes: true }) as fs.Dirent[])
    .filter((entry) => entry.isFile())
    .map((entry) => {
      const file = path.join(entry.parentPath, entry.name);
      return { name: path.relative(dir, file), content: fs.readFileSync(file) };
    });
}

/**
 * A TLS client against a node's group port: `secure` once the handshake passed on both sides (the
 * server's TLS 1.3 session ticket, sent only after it has checked the client's certificate), or the
 * alert the server answered with.
 */
function groupHandshake(port: number, options: tls.ConnectionOptions): Promise<{ outcome: string; serverCa?: string }> {
  return new Promise((resolve) => {
    const socket = tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false, ...options });
    let ended = false;
    const end = (outcome: string) => {
      if (ended) return;
      ended = true;
      const peer = socket.getPeerCertificate(true);
      const issuer = peer?.issuerCertificate?.raw
        ? new X509Certificate(peer.issuerCertificate.raw).toString()
        : undefined;
      socket.destroy();
      resolve({ outcome, ...(issuer === undefined ? {} : { serverCa: issuer }) });
    };
    socket.setTimeout(10_000, () => end('timeout'));
    socket.once('session', () => end('secure'));
    socket.once('error', (error: NodeJS.ErrnoException) => end(error.code ?? error.message));
    socket.once('close', () => end('closed'));
  });
}

/** A self-signed key and certificate (another CA) in `folder`: key.pem, cert.pem. */
function selfSigned(folder: string): { key: string; cert: string } {
  const key = path.join(folder, 'key.pem');
  const cert = path.join(folder, 'cert.pem');
  const result = spawnSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-noenc',
      '-days',
      '1',
      '-subj',
      '/CN=intruder',
      '-addext',
      'subjectAltName=IP:127.0.0.1',
      '-keyout',
      key,
      '-out',
      cert,
    ],
    { encoding: 'utf8' },
  );
  if (result.status !== 0) throw new Error(`openssl failed: ${result.stderr}`);
  return { key, cert };
}

describe('a Galera cluster and a node without its certificates (another local user)', function () {
  this.timeout(180_000);
  const stackName = `kh${process.pid}`;
  const marker = `secret-${randomBytes(8).toString('hex')}`;
  let folder: string;
  let layout: GaleraLayout;
  let n1: GaleraNode;
  const running = new Map<string, RunningNode>();
  let intruder: Intruder | undefined;

  before(async function () {
    folder = await mkdtemp(path.join(os.tmpdir(), 'kh-galera-tls-'));
    removeOnExit(folder);
    const base = await freeGaleraBasePorts();
    layout = galeraLayoutFromEnv({
      STACK_DIR: folder,
      STACK_NAME: stackName,
      GALERA_NODES: '3',
      GALERA_CLIENT_PORT: String(base.client),
      GALERA_GROUP_PORT: String(base.group),
      GALERA_IST_PORT: String(base.ist),
      GALERA_SST_PORT: String(base.sst),
      GALERA_AGENT_PORT: String(base.agent),
    });
    n1 = layout.nodes[0]!;
    // As the node runners do (node-server.ts): n1 bootstraps, n2 and n3 join by SST.
    await Promise.all(
      layout.nodes.map(async (node) => {
        const start = await decideOwnStart(layout, node, { timeoutMs: SYNCED_TIMEOUT_MS });
        const handle = await spawnNode(layout, node, start, { onSpawn: killOnExit });
        running.set(node.name, handle);
        await waitUntilSynced(handle, SYNCED_TIMEOUT_MS);
      }),
    );
    await query(n1, 'CREATE DATABASE intruder_test');
    await query(n1, 'CREATE TABLE intruder_test.t (id INT AUTO_INCREMENT PRIMARY KEY, v VARCHAR(60) NOT NULL)');
    await query(n1, 'INSERT INTO intruder_test.t (v) VALUES (?)', [marker]);
  });

  afterEach(async function () {
    await stopIntruder(intruder);
    intruder = undefined;
  });

  after(async function () {
    this.timeout(90_000);
    for (const handle of running.values()) {
      await Promise.race([handle.stop(), new Promise((resolve) => setTimeout(resolve, 30_000))]);
      await handle.kill();
    }
    if (folder) {
      await rm(folder, { recursive: true, force: true });
      forgetFolder(folder);
    }
  });

  it("is named after STACK_NAME, and its joiners received their SST through stunnel, verifying the donor's certificate chain", async function () {
    const status = await query(n1, 'SELECT @@wsrep_cluster_name AS name');
    expect(status[0]?.name).to.equal(`${stackName}-galera`);
    for (const joiner of layout.nodes.slice(1)) {
      const log = await readFile(joiner.logFile, 'utf8');
      expect([
        joiner.name,
        /Using stunnel for SSL encryption: .*ssl-mode='VERIFY_CA'/.test(log),
        /rsync SST completed on joiner/.test(log),
      ]).to.deep.equal([joiner.name, true, true]);
    }
  });

  it("the group port completes a TLS handshake only for a client certificate of the cluster's CA", async function () {
    const n2 = layout.nodes[1]!;
    const own = {
      cert: fs.readFileSync(n2.tls.cert),
      key: fs.readFileSync(n2.tls.key),
      ca: fs.readFileSync(layout.tls.ca),
    };
    const scratch = await mkdtemp(path.join(os.tmpdir(), 'kh-galera-selfsigned-'));
    try {
      const other = selfSigned(scratch);
      const outcomes = {
        member: (await groupHandshake(n1.ports.group, { ...own, checkServerIdentity: () => undefined })).outcome,
        noCertificate: (await groupHandshake(n1.ports.group, {})).outcome,
        otherCa: (
          await groupHandshake(n1.ports.group, { cert: fs.readFileSync(other.cert), key: fs.readFileSync(other.key) })
        ).outcome,
      };
      expect(outcomes).to.deep.equal({
        member: 'secure',
        noCertificate: 'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED',
        otherCa: 'ERR_SSL_TLSV1_ALERT_UNKNOWN_CA',
      });
    } finally {
      await rm(scratch, { recursive: true, force: true });
    }
  });

  /** Starts the intruder, waits until it gives up or gets in, and checks the cluster and its datadir. */
  async function expectRefused(prepare?: (folder: string) => string[]): Promise<string> {
    const args = psArgs(running.get('n1')!.child.pid!);
    const cluster = { name: option(args, 'wsrep-cluster-name'), address: option(args, 'wsrep-cluster-address') };
    intruder = await startIntruder(cluster, prepare);
    const current = intruder;
    let exitCode: number | null | undefined;
    void current.done.then((code) => (exitCode = code));
    // Either the intruder gives up (refused) or it joins and the SST lands the cluster's data in its datadir.
    const seen = await waitFor(
      'the intruder to give up or receive the data',
      () => {
        if (exitCode !== undefined) return `exited ${exitCode}`;
        const arrived =
          fs.existsSync(path.join(current.datadir, 'intruder_test')) &&
          !fs.existsSync(path.join(current.datadir, 'sst_in_progress'));
        if (arrived) return "the cluster's data arrived by SST";
        return undefined;
      },
      120_000,
      250,
    );
    const sizes = await clusterSizes(layout);
    const files = filesUnder(current.datadir);
    const clusterUuid = String((await readWsrepStatus(nodeAdminLogin(n1), 2000)).wsrep_cluster_state_uuid);
    expect({
      seen,
      sizes,
      // Galera's own files of a node that never joined: an empty grastate.dat and its ring buffer.
      files: files.map((file) => file.name).sort(),
      marker: files.filter((file) => file.content.includes(marker)).map((file) => file.name),
      clusterUuid: files.filter((file) => file.content.includes(clusterUuid)).map((file) => file.name),
    }).to.deep.equal({
      seen: 'exited 1',
      sizes: ['3', '3', '3'],
      files: ['galera.cache', 'grastate.dat'],
      marker: [],
      clusterUuid: [],
    });
    const rows = await query(n1, 'SELECT COUNT(*) AS n FROM intruder_test.t');
    expect(Number(rows[0]?.n)).to.equal(1);
    return readFile(current.logFile, 'utf8');
  }

  it('refuses a mariadbd run as nobody with the cluster name and address from ps: the cluster stays at 3, nothing reaches its datadir', async function () {
    await expectRefused();
  });

  it('refuses one with a certificate of its own and the CA certificate the nodes present in every handshake', async function () {
    const { serverCa } = await groupHandshake(n1.ports.group, {});
    expect(serverCa, 'the CA certificate n1 presents').to.be.a('string');
    const log = await expectRefused((dir) => {
      const own = selfSigned(dir);
      fs.writeFileSync(path.join(dir, 'ca.pem'), serverCa as string);
      return [`socket.ssl_key=${own.key}`, `socket.ssl_cert=${own.cert}`, `socket.ssl_ca=${path.join(dir, 'ca.pem')}`];
    });
    // It trusted the nodes (their CA is public); the nodes did not trust it.
    expect(log).to.include('tlsv1 alert unknown ca');
  });
});

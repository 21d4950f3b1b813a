// A real three-node Galera cluster on free ports in a temp dir, started once for this file: bootstrap
// from empty datadirs (SST), the health agent's verdicts, read-your-writes across nodes, a SIGKILLed node
// rejoining by IST after --wsrep-recover, a whole-cluster restart after a clean stop, and one with the
// invalid grastate.dat files a failed SST leaves. Each start
// goes through decideOwnStart(), the decision the pm2 node runner makes. Small nodes (64 MB buffer
// pool, 32 MB gcache) and everything stopped and removed in after(), or at exit when the run crashes.
import { fork, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import mysql from 'mysql2/promise';
import { provisionSecrets } from '../../cluster/secrets';
import { loadStackSettings, PROJECT_ROOT } from '../../cluster/settings';
import { decideOwnStart, type OwnStart } from '../../cluster/database/galera/coordinate';
import { startHealthAgent, type HealthAgent } from '../../cluster/database/galera/health-agent';
import { galeraLayoutFromEnv } from '../../cluster/database/galera/env';
import { type GaleraLayout, type GaleraNode, type GaleraPorts } from '../../cluster/database/galera/layout';
import { nodeAdminLogin, spawnNode, waitUntilSynced, type RunningNode } from '../../cluster/database/galera/node';
import { readGrastate } from '../../cluster/database/galera/node-state';
import { readWsrepStatus } from '../../cluster/database/galera/wsrep-status';
import { withStatement } from '../../server/db/errors';
import { httpErrorForDb } from '../../server/http/db-errors';
import { exited, forgetFolder, killOnExit, removeOnExit } from '../support/processes';
import { waitFor } from '../support/wait';
import { freeGaleraBasePorts } from '../../cluster/database/galera/free-base-ports';

const SYNCED_TIMEOUT_MS = 90_000;

/**
 * The environment node-server.ts rebuilds this layout from (loadStackSettings() with DB_TOPOLOGY=galera);
 * the check password is the test's, which the bootstrapping runner's migrations (R__galera_check.sql) keep.
 */
function runnerEnv(stateDir: string, base: GaleraPorts, checkPassword: string): NodeJS.ProcessEnv {
  return {
    ...process.env,
    DB_TOPOLOGY: 'galera',
    GALERA_CHECK_PASSWORD: checkPassword,
    STACK_DIR: stateDir,
    GALERA_NODES: '3',
    GALERA_CLIENT_PORT: String(base.client),
    GALERA_GROUP_PORT: String(base.group),
    GALERA_IST_PORT: String(base.ist),
    GALERA_SST_PORT: String(base.sst),
    GALERA_AGENT_PORT: String(base.agent),
  };
}

async function query<T = mysql.RowDataPacket[]>(node: GaleraNode, sql: string, values?: unknown[]): Promise<T> {
  const connection = await mysql.createConnection({ ...nodeAdminLogin(node), connectTimeout: 2000 });
  try {
    const [rows] = await connection.query(sql, values);
    return rows as T;
  } finally {
    await connection.end();
  }
}

async function agentStatus(
  agent: HealthAgent,
  node: GaleraNode,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`http://127.0.0.1:${agent.ports[node.name]}/`, { signal: AbortSignal.timeout(5000) });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

function killByPidFiles(cluster: GaleraLayout): void {
  for (const node of cluster.nodes) {
    try {
      const pid = Number(readFileSync(node.pidFile, 'utf8').trim());
      if (readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(`--datadir=${node.datadir}`))
        process.kill(pid, 'SIGKILL');
    } catch {
      // no pid file, or the process is gone
    }
  }
}

/** The part of the node's error log written after `offset` bytes. */
async function logSince(node: GaleraNode, offset: number): Promise<string> {
  return (await readFile(node.logFile)).subarray(offset).toString('utf8');
}

async function logSize(node: GaleraNode): Promise<number> {
  return (await stat(node.logFile).catch(() => ({ size: 0 }))).size;
}

describe('a three-node Galera cluster (cluster/database/galera)', function () {
  this.timeout(120_000);
  let folder: string;
  let layout: GaleraLayout;
  let agent: HealthAgent | undefined;
  const running = new Map<string, RunningNode>();
  const timings: Record<string, string> = {};
  const checkUser = 'galera_check';
  const checkPassword = randomBytes(12).toString('hex');
  let env: NodeJS.ProcessEnv;
  let n1: GaleraNode;
  let n2: GaleraNode;
  let n3: GaleraNode;

  /** decideOwnStart() then spawn, then wait until Synced: what the node runner does. Returns the start. */
  async function startNode(node: GaleraNode): Promise<OwnStart & { ms: number }> {
    const started = performance.now();
    const start = await decideOwnStart(layout, node, { timeoutMs: SYNCED_TIMEOUT_MS });
    const spawnedAt = performance.now();
    const handle = await spawnNode(layout, node, start, { onSpawn: killOnExit });
    running.set(node.name, handle);
    await waitUntilSynced(handle, SYNCED_TIMEOUT_MS);
    const ms = Math.round(performance.now() - spawnedAt);
    timings[`${node.name} ${start.kind}${start.startPosition ? ' from a recovered position' : ''}`] =
      `${ms} ms from spawn to Synced (${Math.round(performance.now() - started)} ms with the wait to start)`;
    return { ...start, ms };
  }

  interface Runner {
    child: ChildProcess;
    ready: Promise<void>;
    output: () => string;
    exitCode: () => Promise<number | null>;
  }
  const runners: Runner[] = [];

  /** node-server.ts for `node`, as pm2 runs it (forked, with an IPC channel for 'ready'). */
  function startRunner(node: GaleraNode): Runner {
    let output = '';
    const child = fork(path.join(PROJECT_ROOT, 'cluster/database/galera/node-server.ts'), [node.name], {
      execArgv: ['--require', require.resolve('tsx/cjs')],
      env,
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    killOnExit(child);
    child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const ready = new Promise<void>((resolve, reject) => {
      child.on('message', (message) => message === 'ready' && resolve());
      child.once('exit', (code) =>
        reject(new Error(`node-server ${node.name} exited with ${code} before ready:\n${output}`)),
      );
    });
    ready.catch(() => undefined); // awaited by the test; an exit after 'ready' is no rejection to report
    const runner = { child, ready, output: () => output, exitCode: async () => (await exited(child), child.exitCode) };
    runners.push(runner);
    return runner;
  }

  async function stopNode(node: GaleraNode): Promise<void> {
    await running.get(node.name)?.stop();
    running.delete(node.name);
  }

  before(async function () {
    folder = await mkdtemp(path.join(os.tmpdir(), 'kh-galera-'));
    removeOnExit(folder);
    env = runnerEnv(folder, await freeGaleraBasePorts(), checkPassword);
    // What npm start's prepareStateDir does before pm2 starts the runners: the generated passwords.
    provisionSecrets(loadStackSettings(env));
    layout = galeraLayoutFromEnv(env);
    // mariadbd under a runner process outlives a runner SIGKILLed at exit: kill it by its pid file.
    process.once('exit', () => killByPidFiles(layout));
    [n1, n2, n3] = layout.nodes as [GaleraNode, GaleraNode, GaleraNode];
    const started = performance.now();
    // As pm2 would: all three runners at once; the plan makes n1 bootstrap and the others wait for it.
    await Promise.all(layout.nodes.map((node) => startNode(node)));
    timings['cluster of 3 from empty datadirs'] = `${Math.round(performance.now() - started)} ms`;
    // The agent's account: USAGE only, created once and replicated to every node.
    await query(n1, 'CREATE USER ?@? IDENTIFIED BY ?', [checkUser, '127.0.0.1', checkPassword]);
    agent = await startHealthAgent({
      nodes: layout.nodes.map((node) => ({
        name: node.name,
        port: node.ports.agent,
        login: { host: '127.0.0.1', port: node.ports.client, user: checkUser, password: checkPassword },
      })),
    });
  });

  after(async function () {
    this.timeout(90_000);
    await agent?.close();
    // Stopping one at a time lets each leave the cluster cleanly; SIGKILL what does not stop in time.
    for (const handle of running.values()) {
      await Promise.race([handle.stop(), new Promise((resolve) => setTimeout(resolve, 30_000))]);
      await handle.kill();
    }
    running.clear();
    for (const runner of runners) {
      runner.child.kill('SIGTERM');
      await Promise.race([runner.exitCode(), new Promise((resolve) => setTimeout(resolve, 30_000))]);
    }
    if (layout) killByPidFiles(layout);
    if (folder) {
      await rm(folder, { recursive: true, force: true });
      forgetFolder(folder);
    }
    console.log('      measured:', JSON.stringify(timings, null, 2).replace(/\n/g, '\n      '));
  });

  it('bootstraps three nodes from empty datadirs (n1 new cluster, n2 and n3 by SST): all Synced, cluster size 3, the agent answers 200 for each', async function () {
    for (const node of layout.nodes) {
      const status = await readWsrepStatus(nodeAdminLogin(node), 2000);
      expect([
        node.name,
        status.wsrep_local_state_comment,
        status.wsrep_cluster_size,
        status.wsrep_cluster_status,
      ]).to.deep.equal([node.name, 'Synced', '3', 'Primary']);
      const answer = await agentStatus(agent as HealthAgent, node);
      expect([answer.status, answer.body.node, answer.body.ok, answer.body.wsrep_ready]).to.deep.equal([
        200,
        node.name,
        true,
        'ON',
      ]);
    }
    for (const joiner of [n2, n3]) expect(await logSince(joiner, 0)).to.match(/rsync SST completed on joiner/);
  });

  it('the agent reads the status with a USAGE-only account, and /<name> asks about any node', async function () {
    const connection = await mysql.createConnection({
      host: '127.0.0.1',
      port: n3.ports.client,
      user: checkUser,
      password: checkPassword,
    });
    try {
      const [grants] = await connection.query<mysql.RowDataPacket[]>('SHOW GRANTS');
      expect(grants.map((row) => String(Object.values(row)[0]).replace(/ IDENTIFIED BY .*/, ''))).to.deep.equal([
        `GRANT USAGE ON *.* TO \`${checkUser}\`@\`127.0.0.1\``,
      ]);
    } finally {
      await connection.end();
    }
    const response = await fetch(`http://127.0.0.1:${agent?.ports.n1}/n3`);
    expect([response.status, ((await response.json()) as { node: string }).node]).to.deep.equal([200, 'n3']);
    expect((await fetch(`http://127.0.0.1:${agent?.ports.n1}/n9`)).status).to.equal(404);
  });

  it('a row written on n1 is read on n3 right after the commit (wsrep_sync_wait=1)', async function () {
    await query(n1, 'CREATE DATABASE galera_test');
    await query(n1, 'CREATE TABLE galera_test.t (id INT AUTO_INCREMENT PRIMARY KEY, v VARCHAR(40) NOT NULL)');
    const writer = await mysql.createConnection(nodeAdminLogin(n1));
    const reader = await mysql.createConnection(nodeAdminLogin(n3));
    try {
      let missed = 0;
      for (let i = 0; i < 50; i += 1) {
        await writer.query('INSERT INTO galera_test.t (v) VALUES (?)', [`row ${i}`]);
        const [rows] = await reader.query<mysql.RowDataPacket[]>(
          'SELECT COUNT(*) AS n FROM galera_test.t WHERE v = ?',
          [`row ${i}`],
        );
        if (Number(rows[0]?.n) !== 1) missed += 1;
      }
      expect(missed).to.equal(0);
    } finally {
      await writer.end();
      await reader.end();
    }
  });

  it('SIGKILL of n2: the agent answers 503 for it, n1 and n3 stay Primary and evict it', async function () {
    await running.get('n2')?.kill();
    running.delete('n2');
    const killedAt = performance.now();
    const answer = await agentStatus(agent as HealthAgent, n2);
    expect([answer.status, answer.body.ok]).to.deep.equal([503, false]);
    expect(String(answer.body.reason)).to.match(/^Cannot read the node's status/);
    for (const node of [n1, n3]) expect((await agentStatus(agent as HealthAgent, node)).status).to.equal(200);
    // Evicted after evs.suspect_timeout (5 s by default); the survivors keep quorum (2 of 3).
    await waitFor(
      'n1 and n3 to see a cluster of 2',
      async () => {
        const sizes = await Promise.all(
          [n1, n3].map(async (node) => (await readWsrepStatus(nodeAdminLogin(node), 2000)).wsrep_cluster_size),
        );
        return sizes.every((size) => size === '2') ? true : undefined;
      },
      30_000,
      250,
    );
    timings['n2 evicted after SIGKILL'] = `${Math.round(performance.now() - killedAt)} ms`;
    for (const node of [n1, n3]) {
      const answer3 = await agentStatus(agent as HealthAgent, node);
      expect([node.name, answer3.status, answer3.body.wsrep_cluster_status]).to.deep.equal([node.name, 200, 'Primary']);
    }
    expect((await readGrastate(n2))?.seqno).to.equal(-1);
    // Written while n2 is away: it must arrive by IST.
    await query(n1, "INSERT INTO galera_test.t (v) VALUES ('while n2 was down')");
  });

  it('n2 restarted with the recovery logic (--wsrep-recover, --wsrep-start-position) rejoins by IST, not SST, and is Synced', async function () {
    const offset = await logSize(n2);
    const start = await startNode(n2);
    expect([start.kind, start.plan.kind === 'start' ? start.plan.bootstrap : 'none']).to.deep.equal([
      'join',
      undefined,
    ]);
    expect(start.startPosition).to.match(/^[0-9a-f-]{36}:\d+$/);
    const log = await logSince(n2, offset);
    // MariaDB runs the SST script for an IST too (it only waits for the IST); what it then logs tells
    // the two apart: "rsync IST completed" and the write sets received, never "rsync SST completed".
    expect(log).to.match(/Receiving IST: \d+ writesets/);
    expect(log).to.match(/IST received: [0-9a-f-]{36}:\d+/);
    expect(log).to.match(/rsync IST completed on joiner/);
    expect(log).not.to.match(/rsync SST completed/);
    const rows = await query(n2, "SELECT COUNT(*) AS n FROM galera_test.t WHERE v = 'while n2 was down'");
    expect(Number(rows[0]?.n)).to.equal(1);
    expect((await agentStatus(agent as HealthAgent, n2)).status).to.equal(200);
  });

  it('after a clean stop of every node (SIGTERM), the last one to stop bootstraps and the others rejoin: the data is still there', async function () {
    // n1 first, n3 last: Galera marks the last member to leave safe_to_bootstrap.
    for (const node of [n1, n2, n3]) await stopNode(node);
    const states = await Promise.all(layout.nodes.map((node) => readGrastate(node)));
    expect(states.map((state) => [state?.seqno !== -1, state?.safeToBootstrap])).to.deep.equal([
      [true, false],
      [true, false],
      [true, true],
    ]);
    for (const node of layout.nodes) expect((await agentStatus(agent as HealthAgent, node)).status).to.equal(503);

    const started = performance.now();
    const starts = await Promise.all(layout.nodes.map((node) => startNode(node)));
    timings['cluster of 3 restarted after a clean stop'] = `${Math.round(performance.now() - started)} ms`;
    expect(starts.map((start) => start.kind)).to.deep.equal(['join', 'join', 'bootstrap']);
    for (const node of layout.nodes) {
      expect((await agentStatus(agent as HealthAgent, node)).status).to.equal(200);
      const rows = await query(node, 'SELECT COUNT(*) AS n FROM galera_test.t');
      expect([node.name, Number(rows[0]?.n)]).to.deep.equal([node.name, 51]);
    }
  });

  it("the pm2 entry (node-server.ts): three runners restart the stopped cluster on their own; SIGINT, pm2's stop signal, stops each cleanly", async function () {
    for (const node of [n3, n2, n1]) await stopNode(node); // n1 last: it bootstraps this time
    const started = performance.now();
    const runners = layout.nodes.map((node) => startRunner(node));
    await Promise.all(runners.map((runner) => runner.ready));
    timings['cluster of 3 restarted by three node-server.ts runners'] = `${Math.round(performance.now() - started)} ms`;
    for (const node of layout.nodes) {
      expect((await agentStatus(agent as HealthAgent, node)).status).to.equal(200);
      const rows = await query(node, 'SELECT COUNT(*) AS n FROM galera_test.t');
      expect([node.name, Number(rows[0]?.n)]).to.deep.equal([node.name, 51]);
    }
    expect(runners[0]?.output()).to.include('galera n1: No node is running; n1 has the highest position');

    const stoppedAt = performance.now();
    for (const runner of runners) runner.child.kill('SIGINT');
    const codes = await Promise.all(runners.map((runner) => runner.exitCode()));
    timings['three runners stopped by SIGINT'] = `${Math.round(performance.now() - stoppedAt)} ms`;
    expect(codes).to.deep.equal([0, 0, 0]);
    const states = await Promise.all(layout.nodes.map((node) => readGrastate(node)));
    expect(states.map((state) => (state?.seqno ?? -1) >= 0)).to.deep.equal([true, true, true]);
  });

  it('a grastate.dat a failed SST left (empty on n2, no uuid line on n3) is set aside at the next start: n1 bootstraps, n2 and n3 come back by SST', async function () {
    // The cluster is stopped (previous test). What a joiner killed during its SST leaves behind.
    await writeFile(path.join(n2.datadir, 'grastate.dat'), '');
    await writeFile(
      path.join(n3.datadir, 'grastate.dat'),
      '# GALERA saved state\nversion: 2.1\nseqno:   -1\nsafe_to_bootstrap: 0\n',
    );
    const offsets = await Promise.all([n2, n3].map((node) => logSize(node)));
    const started = performance.now();
    const starts = await Promise.all(layout.nodes.map((node) => startNode(node)));
    timings['cluster of 3 restarted with two invalid grastate.dat'] = `${Math.round(performance.now() - started)} ms`;
    expect(starts.map((start) => start.kind)).to.deep.equal(['bootstrap', 'join', 'join']);
    for (const [i, joiner] of [n2, n3].entries()) {
      expect(await logSince(joiner, offsets[i]!)).to.match(/rsync SST completed on joiner/);
      expect((await readdir(joiner.datadir)).filter((name) => name.startsWith('grastate.dat.invalid-'))).to.have.length(
        1,
      );
    }
    for (const node of layout.nodes) {
      expect((await agentStatus(agent as HealthAgent, node)).status).to.equal(200);
      const rows = await query(node, 'SELECT COUNT(*) AS n FROM galera_test.t');
      expect([node.name, Number(rows[0]?.n)]).to.deep.equal([node.name, 51]);
    }
  });

  it('a two-node loss: every refusal n1 answers reads and writes with maps to 503 database_unavailable, never row_locked or a 500', async function () {
    // Last in the file: it leaves n1 alone and non-Primary. Statements as the workers send them.
    const select = 'SELECT COUNT(*) AS n FROM galera_test.t';
    const insert = "INSERT INTO galera_test.t (v) VALUES ('during the loss')";
    const reader = await mysql.createConnection(nodeAdminLogin(n1));
    const writer = await mysql.createConnection(nodeAdminLogin(n1));
    const seen: Record<string, number> = {};
    try {
      for (const node of [n2, n3]) {
        await running.get(node.name)?.kill();
        running.delete(node.name);
      }
      await waitFor(
        'n1 to refuse as non-Primary (1047)',
        async () => {
          const answers = await Promise.all(
            [
              [reader, select],
              [writer, insert],
            ].map(async ([connection, sql]) => {
              try {
                await (connection as mysql.Connection).query({ sql: sql as string, timeout: 20_000 });
                return undefined;
              } catch (error) {
                const answer = httpErrorForDb(withStatement(error, sql as string));
                const label = `${(error as { errno?: number }).errno} -> ${answer?.status ?? 500} ${answer?.code ?? 'internal_error'}`;
                seen[label] = (seen[label] ?? 0) + 1;
                return (error as { errno?: number }).errno;
              }
            }),
          );
          return answers.includes(1047) ? true : undefined;
        },
        60_000,
        50,
      );
    } finally {
      await reader.end().catch(() => undefined);
      await writer.end().catch(() => undefined);
    }
    timings['two-node loss: what n1 answered'] = JSON.stringify(seen);
    expect(Object.keys(seen).filter((label) => !label.endsWith('-> 503 database_unavailable'))).to.deep.equal([]);
  });
});

// The whole tier on a local Galera cluster, as a user runs it: `DB_TOPOLOGY=galera npm start` on free
// ports with an isolated pm2 (three nodes, the health agent, HAProxy's single-writer backend, two
// workers), started once for this file. Under keyed writes (Idempotency-Key, retried with the same key
// until acknowledged) and reads over both workers, it SIGKILLs the node HAProxy writes to, then a node it
// does not write to, then freezes the writer with SIGSTOP: the workers answer 201/200 or 503/504 (never
// a 500, never a hang), writes move to another node, every acknowledged write is there exactly once, and
// the killed node rejoins by IST and is Synced. Then `npm stop` + `npm start`, and SIGKILL of every node
// + `npm start`, each bringing the cluster back with its data. Prints the measured timelines.
import fs from 'node:fs';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { expect } from 'chai';
import mysql from 'mysql2/promise';
import { galeraLayoutFromEnv } from '../../cluster/database/galera/env';
import { type GaleraLayout, type GaleraNode } from '../../cluster/database/galera/layout';
import { nodeAdminLogin } from '../../cluster/database/galera/node';
import { checkNode } from '../../cluster/database/galera/wsrep-status';
import { stickTableServer } from '../../cluster/haproxy/stats';
import { isolatedEnv, PM2_BIN, run, TSX_BIN } from '../support/pm2-env';
import { waitFor } from '../support/wait';
import { freeGaleraBasePorts } from '../../cluster/database/galera/free-base-ports';

interface LoadResult {
  /** Keys whose write was acknowledged (201, or a replay of it). */
  acknowledged: string[];
  /** 504 outcome_unknown answers (each then retried with the same key). */
  unknown: number;
  /** 503 answers to writes and reads. */
  unavailable: number;
  /** Anything else: 500s, other statuses, timeouts (a hang), socket errors. */
  failures: string[];
  reads: number;
  /** Each non-2xx answer as `<status> <error code>`, counted. */
  codes: Record<string, number>;
  /** ms since the load began: first non-2xx answer, first 2xx write after it. */
  firstErrorAt?: number;
  firstSuccessAfterErrorAt?: number;
  startedAt: number;
}

const REQUEST_TIMEOUT_MS = 20_000;

/**
 * Keyed POST /todos and GET /todos in `loops` concurrent loops over the worker ports until `stop` is
 * set. A write is retried with its key after a 503 or 504 until it is acknowledged.
 */
function keyedLoad(ports: number[], loops: number, tag: string): { stop: () => Promise<LoadResult> } {
  const result: LoadResult = {
    acknowledged: [],
    unknown: 0,
    unavailable: 0,
    failures: [],
    reads: 0,
    codes: {},
    startedAt: performance.now(),
  };
  let stopping = false;
  const now = () => Math.round(performance.now() - result.startedAt);
  const error = () => {
    if (result.firstErrorAt === undefined) result.firstErrorAt = now();
  };
  const success = () => {
    if (result.firstErrorAt !== undefined && result.firstSuccessAfterErrorAt === undefined)
      result.firstSuccessAfterErrorAt = now();
  };
  async function loop(i: number): Promise<void> {
    const port = ports[i % ports.length] as number;
    let n = 0;
    while (!stopping) {
      const key = `${tag}-${i}-${n++}-${randomUUID().slice(0, 8)}`;
      // One logical write: retried with the same key until acknowledged (or the load stops).
      for (;;) {
        let status = 0;
        let code = '';
        try {
          const response = await fetch(`http://127.0.0.1:${port}/todos`, {
            method: 'POST',
            headers: { 'Content-Type': 'application/json', 'Idempotency-Key': key },
            body: JSON.stringify({ item: key }),
            signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
          });
          status = response.status;
          code = ((await response.json().catch(() => ({}))) as { error?: string }).error ?? '';
        } catch (e) {
          result.failures.push(`POST ${key}: ${e instanceof Error ? e.name : String(e)}`);
          error();
        }
        if (status === 201) {
          result.acknowledged.push(key);
          success();
          break;
        }
        if (status !== 0) result.codes[`${status} ${code}`] = (result.codes[`${status} ${code}`] ?? 0) + 1;
        if (status === 504 && code === 'outcome_unknown') result.unknown += 1;
        else if (status === 503 || status === 409) result.unavailable += 1;
        else if (status !== 0) result.failures.push(`POST ${key}: ${status} ${code}`);
        error();
        if (stopping && status !== 504) break;
        await sleep(100);
      }
      try {
        const response = await fetch(`http://127.0.0.1:${port}/todos`, {
          signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
        });
        await response.arrayBuffer();
        if (response.status === 200) result.reads += 1;
        else if (response.status === 503) {
          result.unavailable += 1;
          result.codes[`GET 503`] = (result.codes['GET 503'] ?? 0) + 1;
        } else result.failures.push(`GET /todos: ${response.status}`);
      } catch (e) {
        result.failures.push(`GET /todos: ${e instanceof Error ? e.name : String(e)}`);
      }
    }
  }
  const running = Promise.all(Array.from({ length: loops }, (_, i) => loop(i)));
  return {
    stop: async () => {
      stopping = true;
      await running;
      return result;
    },
  };
}

describe('DB_TOPOLOGY=galera npm start: the tier on a three-node Galera cluster under pm2', function () {
  this.timeout(240_000);
  let env: NodeJS.ProcessEnv;
  let home: string;
  let ports: number[];
  let layout: GaleraLayout;
  const timeline: Record<string, unknown> = {};
  const start = () => run([TSX_BIN, 'cluster/cli/start.ts'], env, 200_000);
  const socket = () => path.join(env.STACK_DIR as string, 'haproxy', 'stats.sock');
  const nodeNamed = (name: string) => layout.nodes.find((node) => node.name === name) as GaleraNode;
  const pidOf = (node: GaleraNode) => Number(fs.readFileSync(node.pidFile, 'utf8').trim());
  const logSize = (node: GaleraNode) => fs.statSync(node.logFile).size;
  const logSince = (node: GaleraNode, offset: number) =>
    fs.readFileSync(node.logFile).subarray(offset).toString('utf8');

  async function queryOnce(sql: string, node: GaleraNode): Promise<mysql.RowDataPacket[]> {
    const connection = await mysql.createConnection({ ...nodeAdminLogin(node), connectTimeout: 2000 });
    try {
      return (await connection.query<mysql.RowDataPacket[]>(sql))[0];
    } finally {
      await connection.end();
    }
  }

  /**
   * On `node`, or on the first node that answers. Right after a frozen node resumes, the others can go
   * through a view change of their own and refuse queries for a moment (1047, not yet prepared): keep
   * asking for up to 30 s rather than fail the check on that moment.
   */
  async function query(sql: string, node?: GaleraNode): Promise<mysql.RowDataPacket[]> {
    if (node) return queryOnce(sql, node);
    const errors: string[] = [];
    const deadline = performance.now() + 30_000;
    while (performance.now() < deadline) {
      for (const candidate of layout.nodes) {
        try {
          return await queryOnce(sql, candidate);
        } catch (error) {
          errors.push(`${candidate.name}: ${(error as Error).message}`);
        }
      }
      await sleep(500);
    }
    throw new Error(`No node answered in 30 s; the last errors: ${errors.slice(-layout.nodes.length).join('; ')}`);
  }

  async function synced(node: GaleraNode): Promise<boolean> {
    return (await checkNode(nodeAdminLogin(node), 1000)).ok;
  }

  /** Every node Synced in a Primary component of all of them. */
  async function wholeCluster(): Promise<boolean> {
    const checks = await Promise.all(layout.nodes.map((node) => checkNode(nodeAdminLogin(node), 1000)));
    return checks.every((check) => check.ok && check.status.wsrep_cluster_size === String(layout.nodes.length));
  }

  async function writer(): Promise<string> {
    return waitFor('HAProxy to write to a node', () => stickTableServer(socket()), 10_000, 100);
  }

  /** Every acknowledged key is in test.todos exactly once; returns the counts. */
  async function verify(result: LoadResult, tag: string): Promise<Record<string, number>> {
    const rows = await query(`SELECT item, COUNT(*) AS n FROM test.todos WHERE item LIKE '${tag}-%' GROUP BY item`);
    const count = new Map(rows.map((row) => [String(row.item), Number(row.n)]));
    const present = result.acknowledged.filter((key) => count.get(key) === 1).length;
    const doubled = [...count.values()].filter((n) => n > 1).length;
    const counts = {
      acknowledged: result.acknowledged.length,
      unknown: result.unknown,
      unavailable: result.unavailable,
      present,
      doubled,
      reads: result.reads,
      ...result.codes,
    };
    expect(result.failures, 'no 500, no other status, no hang or socket error').to.deep.equal([]);
    expect([present, doubled]).to.deep.equal([result.acknowledged.length, 0]);
    expect(result.acknowledged.length).to.be.greaterThan(20);
    return counts;
  }

  /**
   * Runs the load, applies `fault` to `victim`, waits for the writes to succeed on another node and the
   * victim to be Synced again; checks IST (not SST) when `ist`. Returns the timeline (ms from the fault).
   */
  async function underLoad(
    tag: string,
    victimOf: (writerName: string) => string,
    fault: (node: GaleraNode) => Promise<void>,
  ): Promise<Record<string, unknown>> {
    const before = await writer();
    const victim = nodeNamed(victimOf(before));
    const offset = logSize(victim);
    const load = keyedLoad(ports, 4, tag);
    await sleep(1500);
    const faultAt = performance.now();
    await fault(victim);
    let newWriter = before;
    if (victim.name === before) {
      newWriter = await waitFor(
        'HAProxy to write to another node',
        async () => {
          const now = await stickTableServer(socket());
          return now !== undefined && now !== victim.name ? now : undefined;
        },
        30_000,
        100,
      );
    }
    const writerMovedMs = Math.round(performance.now() - faultAt);
    await sleep(2000); // writes on the new writer
    return {
      victim: victim.name,
      writerBefore: before,
      writerAfter: newWriter,
      writerMovedMs,
      finish: async (rejoin: () => Promise<void>) => {
        await rejoin();
        // A frozen node still says Synced right after SIGCONT, until it learns it was evicted: wait for
        // every node to see the whole cluster again.
        await waitFor(
          `${victim.name} to be Synced again`,
          async () => ((await synced(victim)) && (await wholeCluster()) ? true : undefined),
          120_000,
          200,
        );
        const rejoinedMs = Math.round(performance.now() - faultAt);
        await sleep(1000);
        const result = await load.stop();
        const shift = (ms?: number) => (ms === undefined ? undefined : Math.round(ms - (faultAt - result.startedAt)));
        const counts = await verify(result, tag);
        const log = logSince(victim, offset);
        return {
          firstErrorMs: shift(result.firstErrorAt),
          firstSuccessAfterErrorMs: shift(result.firstSuccessAfterErrorAt),
          rejoinedMs,
          ist: /IST received/.test(log),
          sst: /rsync SST completed/.test(log),
          waitedForEviction: /still list this node/.test(
            fs.readFileSync(path.join(env.STACK_DIR as string, 'logs', `gal-galera-${victim.name}.log`), 'utf8'),
          ),
          donor: [
            ...log.matchAll(
              new RegExp(
                `\\(${victim.name}\\) requested state transfer from '[^']*'\\. Selected [\\d.]+ \\(([^)]+)\\)`,
                'g',
              ),
            ),
          ].at(-1)?.[1],
          ...counts,
        };
      },
    };
  }

  before(async function () {
    this.timeout(240_000);
    ({ env, ports, home } = await isolatedEnv('gal'));
    const base = await freeGaleraBasePorts();
    Object.assign(env, {
      DB_TOPOLOGY: 'galera',
      GALERA_CLIENT_PORT: String(base.client),
      GALERA_GROUP_PORT: String(base.group),
      GALERA_IST_PORT: String(base.ist),
      GALERA_SST_PORT: String(base.sst),
      GALERA_AGENT_PORT: String(base.agent),
      START_TIMEOUT_MS: '150000',
    });
    layout = galeraLayoutFromEnv(env);
    const startedAt = performance.now();
    const started = await start();
    expect(started.code, started.output).to.equal(0);
    timeline['fresh cluster and tier up (npm start)'] = `${Math.round(performance.now() - startedAt)} ms`;
  });

  after(async function () {
    this.timeout(90_000);
    for (const node of layout?.nodes ?? []) {
      try {
        process.kill(pidOf(node), 'SIGCONT');
      } catch {
        /* gone */
      }
    }
    await run([PM2_BIN, 'kill'], env, 60_000);
    for (const node of layout?.nodes ?? []) {
      try {
        process.kill(pidOf(node), 'SIGKILL');
      } catch {
        /* gone */
      }
    }
    fs.rmSync(home, { recursive: true, force: true });
    console.log('      measured:', JSON.stringify(timeline, null, 2).replace(/\n/g, '\n      '));
  });

  it('serves /todos through both workers and the front door; status shows each node Synced and the writer', async function () {
    for (const url of [
      ...ports.map((port) => `http://127.0.0.1:${port}/todos`),
      `http://127.0.0.1:${env.HTTP_PORT}/todos`,
    ]) {
      expect((await fetch(url)).status, url).to.equal(200);
    }
    const status = await run([TSX_BIN, 'cluster/cli/status.ts', '--json'], env);
    expect(status.code, status.output).to.equal(0);
    const rows = JSON.parse(status.output) as {
      name: string;
      galera?: { state: string; clusterSize: string; writer: boolean };
    }[];
    const nodes = rows.filter((row) => row.galera);
    expect(nodes.map((row) => [row.name, row.galera?.state, row.galera?.clusterSize])).to.deep.equal(
      layout.nodes.map((node) => [`gal-galera-${node.name}`, 'Synced', '3']),
    );
    expect(nodes.filter((row) => row.galera?.writer).map((row) => row.name)).to.deep.equal([
      `gal-galera-${await writer()}`,
    ]);
    // The migrations ran once, on the bootstrapping node.
    const migrated = layout.nodes.filter((node) =>
      /bootstrapped the cluster; applied V001/.test(
        fs.readFileSync(path.join(env.STACK_DIR as string, 'logs', `gal-galera-${node.name}.log`), 'utf8'),
      ),
    );
    expect(migrated.map((node) => node.name)).to.deep.equal(['n1']);
  });

  it('SIGKILL of the writer: writes move to a backup after a short gap, nothing lost or doubled, the node rejoins by IST', async function () {
    const run1 = await underLoad(
      'kw',
      (w) => w,
      async (node) => {
        process.kill(pidOf(node), 'SIGKILL');
      },
    );
    const { finish, ...moved } = run1 as {
      finish: (r: () => Promise<void>) => Promise<Record<string, unknown>>;
    } & Record<string, unknown>;
    const measured = await finish(async () => undefined);
    timeline['SIGKILL writer'] = { ...moved, ...measured };
    expect(moved.writerAfter).to.not.equal(moved.victim);
    // The new writer never stalls for the acquire timeout while the node rejoins (coordinate.ts: a
    // killed node waits for its old member's eviction before it joins).
    expect(measured['503 pool_timeout'] ?? 0, 'writes that waited out the 10 s acquire timeout').to.equal(0);
    // IST, or nothing to transfer when no write committed while it was away (the survivors' commits
    // wait for the view change, and a quickly restarted node may be back by then): never a full SST.
    expect(measured.sst).to.equal(false);
  });

  it('SIGKILL of a node HAProxy does not write to: the writes go on, the node rejoins by IST', async function () {
    const run2 = await underLoad(
      'kn',
      (w) => layout.nodes.find((node) => node.name !== w)?.name as string,
      async (node) => {
        process.kill(pidOf(node), 'SIGKILL');
      },
    );
    const { finish, ...moved } = run2 as {
      finish: (r: () => Promise<void>) => Promise<Record<string, unknown>>;
    } & Record<string, unknown>;
    const measured = await finish(async () => undefined);
    timeline['SIGKILL non-writer'] = { ...moved, ...measured };
    expect(moved.writerAfter).to.equal(moved.writerBefore);
    expect(measured['503 pool_timeout'] ?? 0, 'writes that waited out the 10 s acquire timeout').to.equal(0);
    expect([measured.ist, measured.sst]).to.deep.equal([true, false]);
  });

  it('SIGSTOP of the writer: it loses the writer role, the writes go on elsewhere; after SIGCONT it is Synced again', async function () {
    let frozen = 0;
    const run3 = await underLoad(
      'sw',
      (w) => w,
      async (node) => {
        frozen = pidOf(node);
        process.kill(frozen, 'SIGSTOP');
      },
    );
    const { finish, ...moved } = run3 as {
      finish: (r: () => Promise<void>) => Promise<Record<string, unknown>>;
    } & Record<string, unknown>;
    const measured = await finish(async () => {
      process.kill(frozen, 'SIGCONT');
    });
    timeline['SIGSTOP writer (SIGCONT after the writes moved)'] = { ...moved, ...measured };
    expect(moved.writerAfter).to.not.equal(moved.victim);
  });

  it('npm run restart-db: a rolling restart, one node at a time, the writer last, under load without a failed write', async function () {
    await waitFor(
      'every node Synced in a cluster of 3',
      async () => ((await wholeCluster()) ? true : undefined),
      60_000,
      200,
    );
    const load = keyedLoad(ports, 2, 'rr');
    const startedAt = performance.now();
    const restarted = await run([TSX_BIN, 'cluster/cli/restart-db.ts'], env, 200_000);
    const ms = Math.round(performance.now() - startedAt);
    const result = await load.stop();
    expect(restarted.code, restarted.output).to.equal(0);
    expect(restarted.output.match(/n\d is Synced again after/g)?.length).to.equal(3);
    timeline['npm run restart-db (rolling)'] = {
      ms,
      lines: restarted.output.trim().split('\n'),
      ...(await verify(result, 'rr')),
    };
  });

  it('npm stop, then npm start: the cluster restarts from its saved positions with its data', async function () {
    const [before] = await query('SELECT COUNT(*) AS n FROM test.todos');
    const stopped = await run([TSX_BIN, 'cluster/cli/stop.ts'], env, 120_000);
    expect(stopped.code, stopped.output).to.equal(0);
    const states = layout.nodes.map(
      (node) => /seqno:\s+(-?\d+)/.exec(fs.readFileSync(path.join(node.datadir, 'grastate.dat'), 'utf8'))?.[1],
    );
    expect(
      states.every((seqno) => Number(seqno) >= 0),
      `seqnos ${states.join(', ')}`,
    ).to.equal(true);
    const startedAt = performance.now();
    const started = await start();
    expect(started.code, started.output).to.equal(0);
    timeline['npm stop + npm start'] = `${Math.round(performance.now() - startedAt)} ms to the tier up`;
    const [after] = await query('SELECT COUNT(*) AS n FROM test.todos');
    expect(Number(after?.n)).to.equal(Number(before?.n));
    expect((await fetch(`http://127.0.0.1:${ports[0]}/todos`)).status).to.equal(200);
  });

  it('SIGKILL of every node, then npm start: positions recovered, the most advanced node bootstraps, the data is there', async function () {
    const [before] = await query('SELECT COUNT(*) AS n FROM test.todos');
    for (const node of layout.nodes) process.kill(pidOf(node), 'SIGKILL');
    const startedAt = performance.now();
    await sleep(500);
    const started = await start();
    expect(started.code, started.output).to.equal(0);
    timeline['SIGKILL of every node + npm start'] = `${Math.round(performance.now() - startedAt)} ms to the tier up`;
    for (const node of layout.nodes) expect(await synced(node), node.name).to.equal(true);
    const [after] = await query('SELECT COUNT(*) AS n FROM test.todos');
    expect(Number(after?.n)).to.equal(Number(before?.n));
    const keyed = await fetch(`http://127.0.0.1:${ports[1]}/todos`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'Idempotency-Key': randomUUID() },
      body: JSON.stringify({ item: 'after the crash' }),
    });
    expect(keyed.status).to.equal(201);
  });
});

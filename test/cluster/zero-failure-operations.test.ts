// Operating the tier fails no write: keyed and unkeyed POST /todos through both worker ports and the
// front door while `npm run reload` replaces every worker, while HAProxy reloads in place (its old
// process would cut the pooled MySQL connections it still holds at hard-stop-after, so the load runs
// until every old HAProxy process has exited), and while `npm start` scales to three workers and back.
// Every answer must be JSON and 201 (409 for a key in use), no socket error, each key's row written
// once, and the unkeyed rows exactly those answered 201. Plus a keyed POST whose worker is SIGKILLed
// under it through the front door. One stack started with `npm start` (isolated PM2_HOME, state, ports).
import fs from 'node:fs';
import http from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { expect } from 'chai';
import mysql from 'mysql2/promise';
import { adminConnectionOptions } from '../../cluster/database/admin';
import { freePort } from '../../cluster/free-port';
import { loadStackSettings } from '../../cluster/settings';
import { isolatedEnv, jlist, PM2_BIN, run, TSX_BIN } from '../support/pm2-env';
import { waitFor } from '../support/wait';

interface Outcome {
  target: string;
  keyed: boolean;
  item: string;
  /** The HTTP status, or the socket error's code. */
  status: number | string;
  json: boolean;
  /** The JSON error code of a refusal (`outcome_unknown`, `no_worker_available`, ...). */
  error?: string;
}

// Enough that each worker's one connection always has a statement running or queued (a proxy that cuts
// it, as HAProxy's hard stop does, then cuts a statement), little enough for a shared 2-core machine.
const CLIENTS_PER_TARGET = 3;
/** Between one client's requests: bounds the load to at most 9 x 200 writes a second. */
const PAUSE_MS = 5;
const REQUEST_TIMEOUT_MS = 20_000;

function post(
  url: string,
  agent: http.Agent,
  item: string,
  keyed: boolean,
): Promise<{ status: number | string; json: boolean; error?: string }> {
  const body = JSON.stringify({ item });
  return new Promise((resolve) => {
    const req = http.request(
      `${url}/todos`,
      {
        method: 'POST',
        agent,
        timeout: REQUEST_TIMEOUT_MS,
        headers: {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(body),
          ...(keyed ? { 'idempotency-key': item } : {}),
        },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => {
          let json = (res.headers['content-type'] ?? '').includes('application/json');
          let error: string | undefined;
          try {
            error = (JSON.parse(text) as { error?: string }).error;
          } catch {
            json = false;
          }
          resolve({ status: res.statusCode ?? 0, json, error });
        });
        res.on('error', (error: NodeJS.ErrnoException) =>
          resolve({ status: error.code ?? error.message, json: false }),
        );
      },
    );
    req.on('timeout', () => req.destroy(Object.assign(new Error('timeout'), { code: 'TIMEOUT' })));
    req.on('error', (error: NodeJS.ErrnoException) => resolve({ status: error.code ?? error.message, json: false }));
    req.end(body);
  });
}

/** Keep-alive writers, CLIENTS_PER_TARGET per target, each alternating unkeyed and keyed POSTs. */
function writeLoad(targets: string[], tag: string): { outcomes: Outcome[]; stop: () => Promise<Outcome[]> } {
  const outcomes: Outcome[] = [];
  let running = true;
  let n = 0;
  const clients = targets.flatMap((target) =>
    Array.from({ length: CLIENTS_PER_TARGET }, async () => {
      const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
      let keyed = false;
      while (running) {
        keyed = !keyed;
        const item = `zf-${tag}-${(n += 1)}`;
        const answer = await post(target, agent, item, keyed);
        outcomes.push({ target, keyed, item, ...answer });
        await sleep(PAUSE_MS);
      }
      agent.destroy();
    }),
  );
  return {
    outcomes,
    stop: async () => {
      running = false;
      await Promise.all(clients);
      return outcomes;
    },
  };
}

describe('operations under write load (npm start under pm2)', function () {
  this.timeout(300_000);
  let env: NodeJS.ProcessEnv;
  let ports: number[];
  let home: string;
  let db: mysql.Connection;
  const start = (extra: NodeJS.ProcessEnv = {}) => run([TSX_BIN, 'cluster/cli/start.ts'], { ...env, ...extra });

  before(async () => {
    ({ env, ports, home } = await isolatedEnv('zf'));
    env.START_TIMEOUT_MS = '60000';
    const started = await start();
    expect(started.code, started.output).to.equal(0);
    db = await mysql.createConnection({ ...adminConnectionOptions(loadStackSettings(env)), database: 'test' });
  });

  after(async () => {
    await db?.end();
    await run([PM2_BIN, 'kill'], env, 60_000);
    fs.rmSync(home, { recursive: true, force: true });
  });

  /** HAProxy's worker processes: the current one, and former ones still finishing their sessions. */
  const haproxyProcesses = () => {
    const master = fs.readFileSync(`${env.STACK_DIR}/haproxy/haproxy.pid`, 'utf8').split('\n')[0];
    return fs.readFileSync(`/proc/${master}/task/${master}/children`, 'utf8').trim().split(/\s+/).filter(Boolean);
  };

  /**
   * Runs `operation` (each reloads HAProxy) under the write load, and keeps the load on until every
   * HAProxy process from before it has exited (by itself, or at its hard-stop-after: what that cuts is
   * then under load too), then checks every answer and row.
   */
  async function underWrites(tag: string, operation: () => Promise<void>): Promise<void> {
    // The front door last: the tally names targets by port.
    const targets = [...ports.map((port) => `http://127.0.0.1:${port}`), `http://127.0.0.1:${env.HTTP_PORT}`];
    const load = writeLoad(targets, tag);
    await waitFor(
      'answers from every target',
      () => (targets.every((t) => load.outcomes.filter((o) => o.target === t).length >= 5) ? true : undefined),
      30_000,
    );
    const former = haproxyProcesses();
    await operation();
    await waitFor(
      'the HAProxy processes from before the operation to exit',
      () => {
        const now = haproxyProcesses();
        return now.length > 0 && !now.some((pid) => former.includes(pid)) ? true : undefined;
      },
      45_000,
      200,
    );
    await sleep(1_000);
    const outcomes = await load.stop();

    const tally = new Map<string, number>();
    for (const o of outcomes) {
      const key = `${o.target.replace('http://127.0.0.1:', ':')} ${o.keyed ? 'keyed' : 'unkeyed'} ${o.status}${o.error ? ` ${o.error}` : ''}${o.json ? '' : ' (not JSON)'}`;
      tally.set(key, (tally.get(key) ?? 0) + 1);
    }
    // The counts, for whoever reads the test log (the closing notes quote them).
    console.log(`      ${tag}: ${outcomes.length} writes: ${[...tally].map(([k, v]) => `${k}: ${v}`).join(', ')}`);

    const [rows] = await db.query<mysql.RowDataPacket[]>(
      'SELECT item, COUNT(*) AS n FROM todos WHERE item LIKE ? GROUP BY item',
      [`zf-${tag}-%`],
    );
    const written = new Map(rows.map((row) => [row.item as string, Number(row.n)]));
    const failed = outcomes.filter((o) => !(o.json && (o.status === 201 || (o.keyed && o.status === 409))));
    const keyedTwice = outcomes.filter((o) => o.keyed && (written.get(o.item) ?? 0) > 1);
    const keyed201Missing = outcomes.filter((o) => o.keyed && o.status === 201 && written.get(o.item) !== 1);
    const unkeyed = outcomes.filter((o) => !o.keyed);
    const unkeyedRows = unkeyed.reduce((sum, o) => sum + (written.get(o.item) ?? 0), 0);
    const unkeyed201 = unkeyed.filter((o) => o.status === 201).length;
    expect(outcomes.length, 'writes done').to.be.above(100);
    expect({
      failed: failed
        .slice(0, 10)
        .map(
          (o) =>
            `${o.target} ${o.keyed ? 'keyed' : 'unkeyed'} ${o.status} ${o.error ?? ''}${o.json ? '' : ' not JSON'}`,
        ),
      failedCount: failed.length,
      keyedTwice: keyedTwice.length,
      keyed201Missing: keyed201Missing.length,
      unkeyedRows,
    }).to.deep.equal({ failed: [], failedCount: 0, keyedTwice: 0, keyed201Missing: 0, unkeyedRows: unkeyed201 });
  }

  it('npm run reload: every write answered 201 in JSON, each once', async () => {
    await underWrites('reload', async () => {
      const reload = await run([TSX_BIN, 'cluster/cli/reload.ts'], env);
      expect(reload.code, reload.output).to.equal(0);
    });
  });

  it("an in-place HAProxy reload (npm run reload -- --haproxy): every write answered 201 in JSON, each once, also past the old process's hard stop", async () => {
    await underWrites('haproxy', async () => {
      const reload = await run([TSX_BIN, 'cluster/cli/reload.ts', '--haproxy'], env);
      expect(reload.code, reload.output).to.equal(0);
      console.log(`      ${reload.output.trim()}`);
    });
  });

  it('a keyed POST through the front door whose worker is SIGKILLed under it is sent again to the other worker: a JSON answer, never a reset', async () => {
    const frontDoor = `http://127.0.0.1:${env.HTTP_PORT}`;
    const item = `zf-kill-${Date.now()}`;
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    // A first request on the connection: the POST is then a keep-alive client's second one, which
    // HAProxy closes without a word when its server dies, unless it may send it again.
    expect((await post(frontDoor, agent, `${item}-first`, true)).status).to.equal(201);
    // The write waits for the table lock: it is in flight on its worker when that worker is killed.
    await db.query('LOCK TABLES todos WRITE');
    try {
      const answer = post(frontDoor, agent, item, true);
      const holder = await waitFor(
        'the worker running the POST',
        async () => {
          for (const port of ports) {
            const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
            if (/^db_pool_connections\{[^}]*state="used"[^}]*\} 1$/m.test(metrics)) return port;
          }
          return undefined;
        },
        10_000,
      );
      const victim = (await jlist(env)).find((app) => app.name === `zf-worker-${holder}`)!;
      process.kill(victim.pid, 'SIGKILL');
      const alive = (pid: number) => {
        try {
          process.kill(pid, 0);
          return true;
        } catch {
          return false;
        }
      };
      // Only once it is gone: the statement it left waiting must not get the lock first.
      await waitFor('the killed worker to be gone', () => (alive(victim.pid) ? undefined : true), 10_000);
      await db.query('UNLOCK TABLES');
      const result = await answer;
      // 201 from the other worker, or 409 while the dead worker's claim of the key was not yet rolled back.
      expect(result.json, JSON.stringify(result)).to.equal(true);
      expect(result.status, JSON.stringify(result)).to.be.oneOf([201, 409]);
      const [rows] = await db.query<mysql.RowDataPacket[]>('SELECT COUNT(*) AS n FROM todos WHERE item = ?', [item]);
      expect(Number(rows[0]!.n)).to.equal(result.status === 201 ? 1 : 0);
    } finally {
      await db.query('UNLOCK TABLES');
      agent.destroy();
      // pm2 restarts the killed worker: every worker ready again before the next test.
      await waitFor(
        'every worker ready again',
        async () => {
          const statuses = await Promise.all(
            ports.map((port) =>
              fetch(`http://127.0.0.1:${port}/readyz`).then(
                (r) => r.status,
                () => 0,
              ),
            ),
          );
          return statuses.every((status) => status === 200) ? true : undefined;
        },
        60_000,
        250,
      );
    }
  });

  it('npm start scaling to three workers and back: every write answered 201 in JSON, each once', async () => {
    const third = await freePort();
    await underWrites('scale', async () => {
      const up = await start({ WORKER_PORTS: [...ports, third].join(',') });
      expect(up.code, up.output).to.equal(0);
      const down = await start();
      expect(down.code, down.output).to.equal(0);
    });
  });
});

// The reference's key observation, on the shared 2-worker stack: however many requests pile up, the
// database sees one connection per worker, and each one arrives through HAProxy.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { expect } from 'chai';
import type mysql from 'mysql2/promise';
import { request, type Reply } from '../support/http';
import { sharedStack, type TestStack } from '../support/stack';
import { waitFor } from '../support/wait';

interface Socket {
  local: string;
  peer: string;
  process: string;
}

/** Every established TCP socket with its owning process, from `ss -tnpH` (run as root here). */
async function sockets(): Promise<Socket[]> {
  const { stdout } = await promisify(execFile)('ss', ['-tnpH', 'state', 'established']);
  return stdout
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => {
      // With a state filter ss drops the State column: Recv-Q Send-Q Local Peer Process
      const [, , local, peer, ...rest] = line.trim().split(/\s+/);
      return { local: local!, peer: peer!, process: rest.join(' ') };
    });
}

/** HAProxy's own count of current sessions to the MariaDB server, from its stats CSV. */
async function haproxyServerSessions(stack: TestStack): Promise<number> {
  const csv = (await request(`http://${stack.settings.haproxy.host}:${stack.settings.haproxy.statsPort}/stats;csv`))
    .text;
  const [header, ...rows] = csv.replace(/^# /, '').split('\n');
  const columns = header!.split(',');
  const row = rows.map((r) => r.split(',')).find((r) => r[0] === 'mysql' && r[1] === 'mysql1');
  if (!row) throw new Error(`No mysql/mysql1 row in HAProxy's stats:\n${csv}`);
  return Number(row[columns.indexOf('scur')]);
}

describe('50 concurrent GET /sleep/1 over two workers', function () {
  this.timeout(45_000);
  let stack: TestStack;
  let admin: mysql.Connection;

  before(async () => {
    stack = await sharedStack();
    admin = await stack.admin();
  });

  after(async () => {
    await admin?.end();
  });

  it('show exactly one app connection per worker in the process list, each through HAProxy, and all get an answer', async () => {
    const started = performance.now();
    const replies: Promise<Reply>[] = [];
    for (let i = 0; i < 50; i += 1) {
      const worker = stack.workers[i % 2]!;
      replies.push(request(`${worker.url}/sleep/1`, { signal: AbortSignal.timeout(20_000) }));
    }

    // While they run: both workers' connections are busy sleeping.
    const sessions = await waitFor(
      'both app sessions to run SLEEP',
      async () => {
        const [rows] = await admin.query<mysql.RowDataPacket[]>(
          'SELECT ID AS id, HOST AS host, INFO AS info FROM information_schema.PROCESSLIST WHERE USER = ? ORDER BY ID',
          [stack.settings.database.appUser],
        );
        return rows.length === 2 && rows.every((row) => /SLEEP/i.test(String(row.info))) ? rows : undefined;
      },
      5_000,
    );
    const [rows] = await admin.query<mysql.RowDataPacket[]>(
      'SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST WHERE USER = ?',
      [stack.settings.database.appUser],
    );
    expect(Number(rows[0]!.n), 'app sessions while 50 requests are in flight').to.equal(2);

    // Each session's client end is a socket owned by haproxy, connected to MariaDB's port.
    const all = await sockets();
    for (const session of sessions) {
      const host = String(session.host);
      expect(host).to.match(/^127\.0\.0\.1:\d+$/);
      const owner = all.find((s) => s.local === host);
      expect(owner, `a socket with local address ${host}`).to.not.equal(undefined);
      expect(owner!.peer).to.equal(`127.0.0.1:${stack.mariadb.port}`);
      expect(owner!.process).to.match(/^users:\(\("haproxy",pid=\d+,fd=\d+\)\)$/);
    }
    // And each worker holds exactly one connection to HAProxy's MySQL port.
    for (const worker of stack.workers) {
      const mine = all.filter(
        (s) => s.peer === `127.0.0.1:${stack.settings.haproxy.port}` && s.process.includes(`pid=${worker.child.pid},`),
      );
      expect(mine, `worker ${worker.port}'s connections to HAProxy`).to.have.length(1);
    }
    expect(await haproxyServerSessions(stack)).to.equal(2);

    // Every request gets a definite answer: the sleep, or a 503 that says when to come back.
    const answers = await Promise.all(replies);
    const elapsedMs = performance.now() - started;
    const counts = { ok: 0, pool_timeout: 0, pool_queue_full: 0 };
    const okPerWorker: [number, number] = [0, 0];
    answers.forEach((reply, i) => {
      if (reply.status === 200) {
        expect(reply.body).to.deep.equal({ slept: 1 });
        counts.ok += 1;
        okPerWorker[i % 2 === 0 ? 0 : 1] += 1;
        return;
      }
      expect(reply.status, `request ${i}`).to.equal(503);
      expect(reply.headers.get('retry-after')).to.equal('1');
      const body = reply.body as { error: keyof typeof counts; message: string };
      expect(body).to.have.all.keys('error', 'message', 'requestId');
      expect(body.error).to.be.oneOf(['pool_timeout', 'pool_queue_full']);
      counts[body.error] += 1;
    });
    expect(counts.ok + counts.pool_timeout + counts.pool_queue_full).to.equal(50);
    expect(answers[0]!.status).to.equal(200);
    expect(answers[1]!.status).to.equal(200);
    // The default queue (50) holds each worker's 24 waiters; the 10 s acquire timeout lets at most
    // ~11 one-second sleeps through one connection, so the rest time out.
    expect(counts.pool_queue_full).to.equal(0);
    for (const ok of okPerWorker) expect(ok).to.be.at.most(12);
    expect(elapsedMs).to.be.below(15_000);
    console.log(
      `      answers: ${JSON.stringify(counts)}, 200s per worker ${okPerWorker.join('/')}, all in ${Math.round(elapsedMs)} ms`,
    );
  });
});

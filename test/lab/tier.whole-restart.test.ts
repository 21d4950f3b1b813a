// A whole-cluster stop and start over three namespaced hosts (issue 19): `npm stop` on every host, then
// `npm start` on each, in another order, with each host's STACK_DIR holding only its own node and a
// copy of h1's secrets (test/lab/support/tier.ts). The node runners see one another only through the
// hosts' agents (start-state.ts): a host started alone waits, saying whose state it lacks, instead of
// bootstrapping; once every agent answers, the node with the newest commits (the last to stop, which
// took writes alone) bootstraps and the others join, and every row is there. On the shared lab tier
// (test/lab/support/shared-tier.ts), after the fault tests: it leaves every host running. Needs root on
// Linux with `ip netns`; skipped elsewhere, saying why.
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { expect } from 'chai';
import mysql from 'mysql2/promise';
import { parseGrastate } from '../../cluster/database/galera/grastate';
import { checkNode } from '../../cluster/database/galera/wsrep-status';
import { waitFor } from '../support/wait';
import { sharedTierOrSkip } from './support/shared-tier';
import { runInHost, START_MS, type LabTier } from './support/tier';

describe('a whole-cluster stop and start over three namespaced hosts', function () {
  this.timeout(20 * 60_000);
  let tier: LabTier | undefined;

  const nodes = () => tier!.hostNames.map((h) => tier!.nodeOf(h));

  async function onNode<T extends mysql.RowDataPacket>(
    node: string,
    sql: string,
    values: unknown[] = [],
  ): Promise<T[]> {
    const connection = await mysql.createConnection({ ...tier!.nodeLogin(node), connectTimeout: 2000 });
    try {
      return (await connection.query<T[]>(sql, values))[0];
    } finally {
      await connection.end();
    }
  }

  async function npm(host: string, script: string): Promise<void> {
    const result = await runInHost(tier!.lab, host, ['npm', script], tier!.hostEnv(host), START_MS);
    if (result.code !== 0)
      throw new Error(`npm ${script} on ${host} exited ${result.code}:\n${result.output.slice(-4000)}`);
  }

  function runnerLog(host: string): string {
    const file = path.join(tier!.dir, host, 'logs', `kh-galera-${tier!.nodeOf(host)}.log`);
    return fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '';
  }

  function grastate(node: string) {
    return parseGrastate(fs.readFileSync(path.join(tier!.nodeDir(node), 'data', 'grastate.dat'), 'utf8'));
  }

  before(async function () {
    // Started here when this file runs alone; stopped once after every file (test/support/root-hooks.ts).
    tier = await sharedTierOrSkip(this, 'fault');
  });

  it("each host's STACK_DIR holds its own node only, and its own copy of the secrets", function () {
    for (const host of tier!.hostNames) {
      expect(fs.readdirSync(path.join(tier!.dir, host, 'galera')).filter((f) => /^n\d+$/.test(f))).to.deep.equal([
        tier!.nodeOf(host),
      ]);
      expect(fs.lstatSync(path.join(tier!.dir, host, 'secrets')).isSymbolicLink(), `${host}'s secrets`).to.equal(false);
    }
  });

  it('every host stopped (the last ones taking writes alone), then started in another order: the newest node bootstraps, every row is there', async function () {
    const [h1, h2, h3] = tier!.hostNames as [string, string, string];
    const [n1, n2, n3] = nodes() as [string, string, string];
    await waitFor(
      'every node Synced in a cluster of 3',
      async () => {
        const checks = await Promise.all(nodes().map((node) => checkNode(tier!.nodeLogin(node), 1000)));
        return checks.every((c) => c.ok && c.status.wsrep_cluster_size === '3') ? true : undefined;
      },
      120_000,
      250,
    );
    const insert = (node: string, item: string) => onNode(node, 'INSERT INTO test.todos (item) VALUES (?)', [item]);
    await insert(n1, 'restart-all-three');
    // Each host stopped in turn; the nodes left write on, so the last to stop holds commits the others lack.
    await npm(h1, 'stop');
    await insert(n2, 'restart-after-h1-left');
    await npm(h2, 'stop');
    await insert(n3, 'restart-n3-alone');
    await npm(h3, 'stop');
    const saved = nodes().map(grastate);
    console.log(
      `      after npm stop: ${nodes()
        .map((n, i) => `${n} seqno ${saved[i]!.seqno} safe ${saved[i]!.safeToBootstrap}`)
        .join(', ')}`,
    );
    expect(
      saved.map((s) => s.seqno >= 0),
      'every node saved its position',
    ).to.deep.equal([true, true, true]);
    expect(saved[2]!.seqno).to.be.greaterThan(saved[1]!.seqno);
    expect(saved[1]!.seqno).to.be.greaterThan(saved[0]!.seqno);

    // h2 alone first: its agent cannot reach the others', so its node waits rather than bootstrap.
    const logBefore = runnerLog(h2).length;
    const started = Date.now();
    const second = npm(h2, 'start');
    await waitFor(
      "h2's runner waiting for the states it cannot see",
      () => (/state of n1, n3 is unknown/.test(runnerLog(h2).slice(logBefore)) ? true : undefined),
      120_000,
      250,
    );
    await sleep(5000);
    expect(runnerLog(h2).slice(logBefore), 'n2 alone neither bootstraps nor joins').to.not.match(/bootstraps|Joining/);
    // Then h1 and h3, h1 first: n1 (the oldest) must not bootstrap either; n3 (the newest) does.
    const first = npm(h1, 'start');
    await sleep(3000);
    const third = npm(h3, 'start');
    await Promise.all([first, second, third]);
    console.log(`      npm start on the three hosts: ${Date.now() - started} ms`);
    const said = (host: string) =>
      runnerLog(host)
        .slice(host === h2 ? logBefore : 0)
        .split('\n')
        .filter((line) => /galera n\d: (No node is running|.* Joining|waiting: the state)/.test(line))
        .slice(-2);
    for (const host of tier!.hostNames) console.log(`      ${host}: ${said(host).join('\n          ')}`);
    expect(runnerLog(h3)).to.match(/n3 has the highest position .* and bootstraps/);

    await waitFor(
      'every node Synced in a cluster of 3 again',
      async () => {
        const checks = await Promise.all(nodes().map((node) => checkNode(tier!.nodeLogin(node), 1000)));
        return checks.every((c) => c.ok && c.status.wsrep_cluster_size === '3') ? true : undefined;
      },
      120_000,
      250,
    );
    for (const node of [n1, n2, n3]) {
      const rows = await onNode(node, "SELECT item FROM test.todos WHERE item LIKE 'restart-%' ORDER BY id");
      expect(
        rows.map((row) => row.item as string),
        `rows on ${node}`,
      ).to.deep.equal(['restart-all-three', 'restart-after-h1-left', 'restart-n3-alone']);
    }
    // And the tier serves: a write through h1's front door, read through h2's.
    const created = await runInHost(
      tier!.lab,
      h1,
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
        '{"item":"restart-after"}',
        'http://127.0.0.1:8080/todos',
      ],
      {},
      30_000,
    );
    const todo = JSON.parse(created.output) as { id: number };
    const read = await runInHost(
      tier!.lab,
      h2,
      ['curl', '-sS', '--max-time', '10', `http://127.0.0.1:8080/todos/${todo.id}`],
      {},
      30_000,
    );
    expect((JSON.parse(read.output) as { item: string }).item).to.equal('restart-after');
  });
});

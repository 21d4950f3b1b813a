// `npm run status` over three hosts (issue 19, item 2): on any host it lists every host, its Galera
// node and its proxy, and the node each proxy writes to, read from that proxy over the network (its
// status listener, mutual TLS with the stack CA: cluster/hosts/status-listener.ts). On the shared lab
// tier (test/lab/support/shared-tier.ts), after the fault tests healed it (the name sorts after
// tier.under-faults): any node may be the writer by then. The writer's host is partitioned and a
// surviving host's status must show the new common writer and the cut-off host unreachable. Needs root
// on Linux with `ip netns`; skipped elsewhere, saying why.
import https from 'node:https';
import { expect } from 'chai';
import { waitFor } from '../support/wait';
import { sharedTierOrSkip } from './support/shared-tier';
import { runInHost, type LabTier } from './support/tier';

const STATUS_PORT = 10001;

interface Row {
  name: string;
  status: string;
  galera?: { node: string; ok: boolean; state: string; clusterSize: string };
  proxy?: { host: string; node: string; reachable: boolean; writer: string | null; writerAgreed: boolean | null };
}

describe('npm run status over three namespaced hosts', function () {
  this.timeout(10 * 60_000);
  let tier: LabTier | undefined;

  async function status(host: string, json = true): Promise<{ code: number | null; output: string; rows: Row[] }> {
    const argv = ['npm', 'run', '--silent', 'status', ...(json ? ['--', '--json'] : [])];
    const run = await runInHost(tier!.lab, host, argv, tier!.hostEnv(host), 60_000);
    const rows = json ? (JSON.parse(run.output.slice(run.output.indexOf('['))) as Row[]) : [];
    return { ...run, rows };
  }

  /** Each host's proxy as `host`'s status shows it: `h1 up n1`, `h3 unreachable -`. */
  const proxiesOf = (rows: Row[]) =>
    rows
      .filter((row) => row.proxy)
      .map((row) => row.proxy!)
      .sort((a, b) => a.host.localeCompare(b.host));

  before(async function () {
    // Started here when this file runs alone; stopped once after every file (test/support/root-hooks.ts).
    tier = await sharedTierOrSkip(this, 'fault');
  });

  it('on h2: every host, its node Synced, its proxy up, and every proxy writing to the same node', async function () {
    // A proxy's table is filled by its workers' first connection or by a peer: wait for all three.
    const seen = await waitFor(
      'every proxy to name a writer in the status on h2',
      async () => {
        const got = await status('h2');
        return proxiesOf(got.rows).every((p) => p.writer !== null) && proxiesOf(got.rows).length === 3
          ? got
          : undefined;
      },
      60_000,
      1000,
    );
    expect(seen.code, seen.output).to.equal(0);
    const proxies = proxiesOf(seen.rows);
    const writer = proxies[0]!.writer!;
    expect(proxies.map((p) => [p.host, p.node, p.reachable, p.writer, p.writerAgreed])).to.deep.equal([
      ['h1', 'n1', true, writer, true],
      ['h2', 'n2', true, writer, true],
      ['h3', 'n3', true, writer, true],
    ]);
    expect(['n1', 'n2', 'n3']).to.include(writer);
    const nodes = seen.rows.filter((row) => row.galera).sort((a, b) => a.galera!.node.localeCompare(b.galera!.node));
    expect(
      nodes.map((row) => [row.galera!.node, row.galera!.state, row.galera!.clusterSize, row.galera!.ok]),
    ).to.deep.equal([
      ['n1', 'Synced', '3', true],
      ['n2', 'Synced', '3', true],
      ['n3', 'Synced', '3', true],
    ]);
    // The table for people: one line per host and the verdict.
    const text = await status('h2', false);
    expect(text.code, text.output).to.equal(0);
    for (const host of ['h1', 'h2', 'h3']) {
      expect(text.output).to.match(
        new RegExp(`^${host} +\\S+ +n${host.slice(1)} +Synced, size 3 +up +${writer} `, 'm'),
      );
    }
    expect(text.output).to.include(`Every proxy that answers writes to ${writer}.`);
  });

  it('a status listener refuses a client without a certificate of the stack CA', async function () {
    const address = tier!.lab.host('h1').address;
    const error = await new Promise<Error | undefined>((resolve) => {
      const request = https.get(
        `https://${address}:${STATUS_PORT}/writer`,
        { rejectUnauthorized: false, agent: false, timeout: 5000 },
        (response) => {
          response.resume();
          resolve(undefined);
        },
      );
      request.on('timeout', () => request.destroy(new Error('timeout')));
      request.on('error', resolve);
    });
    // TLS 1.3: the server's refusal arrives as an alert after the client's handshake.
    expect(error?.message).to.match(/certificate required|alert|socket hang up|ECONNRESET/);
  });

  it("the writer's host partitioned: a surviving host's status shows the new common writer and that host unreachable", async function () {
    const before = proxiesOf((await status('h2')).rows);
    const writer = before[0]!.writer!;
    expect(before.map((p) => p.writer)).to.deep.equal([writer, writer, writer]);
    const cut = tier!.hostOf(writer);
    const survivor = tier!.hostNames.find((h) => h !== cut)!;
    const cutAt = Date.now();
    tier!.lab.partition(cut);
    try {
      const after = await waitFor(
        `the status on ${survivor} to show ${cut} unreachable and the others agreeing on a new writer`,
        async () => {
          const got = await status(survivor);
          const proxies = proxiesOf(got.rows);
          const live = proxies.filter((p) => p.host !== cut);
          const moved = live.every((p) => p.reachable && p.writer !== null && p.writer !== writer);
          return moved && live[0]!.writer === live[1]!.writer && !proxies.find((p) => p.host === cut)!.reachable
            ? got
            : undefined;
        },
        90_000,
        1000,
      );
      console.log(`      ${survivor}'s status after ${Date.now() - cutAt} ms of ${cut} cut off`);
      const proxies = proxiesOf(after.rows);
      const next = proxies.find((p) => p.host !== cut)!.writer!;
      expect(proxies.map((p) => [p.host, p.reachable, p.writer, p.writerAgreed])).to.deep.equal(
        tier!.hostNames.map((h) => (h === cut ? [h, false, null, null] : [h, true, next, true])),
      );
      // The cut-off node: its agent does not answer across the cut.
      const node = after.rows.find((row) => row.galera?.node === writer)!;
      expect(node.galera!.ok).to.equal(false);
      const text = await status(survivor, false);
      expect(text.output).to.match(new RegExp(`^${cut} +\\S+ +${writer} +agent unreachable +unreachable +- `, 'm'));
      expect(text.output).to.include(`Every proxy that answers writes to ${next}. Unreachable: ${cut}'s proxy.`);
      console.log(`      ${text.output.slice(text.output.indexOf('host ')).replace(/\n/g, '\n      ')}`);
    } finally {
      tier!.lab.heal(cut);
    }
  });
});

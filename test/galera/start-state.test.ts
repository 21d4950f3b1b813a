// The start state over several hosts, without a cluster: the agent's answer and its parsing, the merge
// of what the other hosts' agents say (or do not) with this node's own files, and the plan that follows
// (an unreachable agent makes the plan wait, except at a cluster's first start). The HTTP side runs a
// real agent on loopback with a stand-in state reader; no mariadbd.
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { fromAgent, gatherStartStates, isLocal, listedAsMember } from '../../cluster/database/galera/coordinate';
import { startHealthAgent, type HealthAgent } from '../../cluster/database/galera/health-agent';
import { galeraLayout, portsFromBase, type GaleraLayout } from '../../cluster/database/galera/layout';
import { planStart } from '../../cluster/database/galera/recovery-plan';
import {
  askStartState,
  incomingAddresses,
  parseStartStateAnswer,
  START_STATE_PATH,
  type StartStateAnswer,
} from '../../cluster/database/galera/start-state';
import { freePort } from '../../cluster/free-port';

const UUID = '5b7da98a-e9f2-11f1-acb2-e6b84ded841a';
const ADDRESSES = ['10.9.0.1', '10.9.0.2', '10.9.0.3'];

function answer(node: string, state: Partial<StartStateAnswer> = {}): StartStateAnswer {
  return { node, running: false, grastate: null, recovered: null, members: [], ...state };
}

function hostsLayout(stateDir = '/nonexistent', addresses: readonly string[] = ADDRESSES): GaleraLayout {
  return galeraLayout({ stateDir, ports: portsFromBase(3), addresses });
}

describe('parseStartStateAnswer(text, node): what another host says of its node', function () {
  it('takes a stopped node with a saved position, and a running one with its members', function () {
    const stopped = answer('n2', { grastate: { uuid: UUID, seqno: 42, safeToBootstrap: true } });
    expect(parseStartStateAnswer(JSON.stringify(stopped), 'n2')).to.deep.equal(stopped);
    const crashed = answer('n3', {
      grastate: { uuid: UUID, seqno: -1, safeToBootstrap: false },
      recovered: { uuid: UUID, seqno: 40 },
    });
    expect(parseStartStateAnswer(JSON.stringify(crashed), 'n3')).to.deep.equal(crashed);
    const running = answer('n1', { running: true, members: ['10.9.0.1:3311', '10.9.0.2:3312'] });
    expect(parseStartStateAnswer(JSON.stringify(running), 'n1')).to.deep.equal(running);
  });

  it('refuses an answer of another node, a bad position, missing fields or no JSON', function () {
    const good = answer('n2', { grastate: { uuid: UUID, seqno: 7, safeToBootstrap: false } });
    expect(() => parseStartStateAnswer(JSON.stringify(good), 'n3')).to.throw(/of n2, not n3/);
    const bad = (change: Record<string, unknown>) => JSON.stringify({ ...good, ...change });
    expect(() =>
      parseStartStateAnswer(bad({ grastate: { uuid: 'x', seqno: 1, safeToBootstrap: false } }), 'n2'),
    ).to.throw(/grastate has no valid uuid/);
    expect(() =>
      parseStartStateAnswer(bad({ grastate: { uuid: UUID, seqno: 1.5, safeToBootstrap: false } }), 'n2'),
    ).to.throw(/grastate has no valid seqno/);
    expect(() => parseStartStateAnswer(bad({ grastate: { uuid: UUID, seqno: 1 } }), 'n2')).to.throw(/safeToBootstrap/);
    expect(() => parseStartStateAnswer(bad({ recovered: { uuid: UUID, seqno: -2 } }), 'n2')).to.throw(
      /recovered has no valid seqno/,
    );
    expect(() => parseStartStateAnswer(bad({ running: 'yes' }), 'n2')).to.throw(/running/);
    expect(() => parseStartStateAnswer(bad({ members: undefined }), 'n2')).to.throw(/members/);
    expect(() => parseStartStateAnswer('<html>', 'n2')).to.throw(/not JSON/);
    expect(() => parseStartStateAnswer('null', 'n2')).to.throw(/not an object/);
  });

  it('incomingAddresses() splits wsrep_incoming_addresses, leaving out empty and AUTO entries', function () {
    expect(incomingAddresses('10.9.0.1:3311, 10.9.0.2:3312,,AUTO')).to.deep.equal(['10.9.0.1:3311', '10.9.0.2:3312']);
    expect(incomingAddresses(undefined)).to.deep.equal([]);
  });
});

describe('the merge and the plan over several hosts', function () {
  const saved = (seqno: number, safe = false) => ({ uuid: UUID, seqno, safeToBootstrap: safe });

  it('an agent that does not answer makes its node unknown: nobody bootstraps while no node runs', function () {
    const plan = planStart([
      { name: 'n1', running: false, grastate: saved(40) },
      fromAgent('n2', answer('n2', { grastate: saved(42, true) })),
      fromAgent('n3', undefined),
    ]);
    expect(plan).to.deep.include({ kind: 'wait', nodes: ['n3'] });
  });

  it('every agent answering after a whole-cluster stop: the highest position bootstraps, wherever it is', function () {
    const plan = planStart([
      { name: 'n1', running: false, grastate: saved(40) },
      fromAgent('n2', answer('n2', { grastate: saved(42, true) })),
      fromAgent('n3', answer('n3', { grastate: saved(41) })),
    ]);
    expect(plan.kind === 'start' && plan.bootstrap).to.equal('n2');
    expect(plan.kind === 'start' && plan.actions.n1).to.deep.equal({ kind: 'join' });
  });

  it('a node some agent says runs: this node joins, whatever the silent ones hold', function () {
    const plan = planStart([
      {
        name: 'n1',
        running: false,
        grastate: { uuid: UUID, seqno: -1, safeToBootstrap: false },
        recovered: { uuid: UUID, seqno: 9 },
      },
      fromAgent('n2', answer('n2', { running: true, grastate: { uuid: UUID, seqno: -1, safeToBootstrap: false } })),
      fromAgent('n3', undefined),
    ]);
    expect(plan).to.deep.include({ kind: 'start' });
    expect(plan.kind === 'start' && plan.bootstrap).to.equal(undefined);
    expect(plan.kind === 'start' && plan.actions.n1).to.deep.equal({ kind: 'join', startPosition: `${UUID}:9` });
  });

  it("a cluster's first start: a fresh n1 bootstraps with the others silent; a fresh n2 waits for n1", function () {
    const first = planStart([{ name: 'n1', running: false }, fromAgent('n2', undefined), fromAgent('n3', undefined)]);
    expect(first.kind === 'start' && first.bootstrap).to.equal('n1');
    expect(first.kind === 'start' && first.reason).to.match(/n2, n3 not answering: a first start/);
    const second = planStart([fromAgent('n1', undefined), { name: 'n2', running: false }, fromAgent('n3', undefined)]);
    expect(second).to.deep.include({ kind: 'wait', nodes: ['n1', 'n3'] });
    // n1 answers (fresh, not yet running): it is the one to bootstrap, and n2 waits for it.
    const third = planStart([
      fromAgent('n1', answer('n1')),
      { name: 'n2', running: false },
      fromAgent('n3', undefined),
    ]);
    expect(third.kind === 'start' && third.bootstrap).to.equal('n1');
  });

  it('a silent node never counts as having the history a fresh bootstrap would lose', function () {
    // n1 is fresh, n3 answers with a history: n1 must not start a new cluster beside it.
    const plan = planStart([
      { name: 'n1', running: false },
      fromAgent('n2', undefined),
      fromAgent('n3', answer('n3', { grastate: saved(5) })),
    ]);
    expect(plan).to.deep.include({ kind: 'wait', nodes: ['n2'] });
  });
});

describe('gatherStartStates(layout, self, ask): own files from disk, the other hosts from their agents', function () {
  let dir: string;
  before(function () {
    dir = mkdtempSync(path.join(os.tmpdir(), 'kh-start-state-'));
  });
  after(function () {
    rmSync(dir, { recursive: true, force: true });
  });

  it("reads self's grastate.dat and recovered position, asks only the other nodes, unknown when they fail", async function () {
    const layout = hostsLayout(dir);
    const [n1, n2, n3] = layout.nodes as [(typeof layout.nodes)[0], (typeof layout.nodes)[0], (typeof layout.nodes)[0]];
    mkdirSync(n1.datadir, { recursive: true });
    writeFileSync(
      path.join(n1.datadir, 'grastate.dat'),
      `version: 2.1\nuuid: ${UUID}\nseqno: -1\nsafe_to_bootstrap: 0\n`,
    );
    writeFileSync(n1.recoveredFile, `${UUID}:12\n`);
    const asked: string[] = [];
    const states = await gatherStartStates(layout, n1, (node) => {
      asked.push(node.name);
      return node === n2
        ? Promise.resolve(answer('n2', { running: true, members: ['10.9.0.2:3312'] }))
        : Promise.reject(new Error('ECONNREFUSED'));
    });
    expect(asked.sort()).to.deep.equal(['n2', 'n3']);
    expect(states).to.deep.equal([
      {
        name: 'n1',
        running: false,
        grastate: { uuid: UUID, seqno: -1, safeToBootstrap: false },
        recovered: { uuid: UUID, seqno: 12 },
      },
      { name: 'n2', running: true, members: ['10.9.0.2:3312'] },
      { name: 'n3', running: false, unknown: true },
    ]);
    expect([isLocal(n1, n1), isLocal(n3, n1)]).to.deep.equal([true, false]);
  });

  it('on one machine (no host addresses) every node is local: nothing is asked', async function () {
    const layout = galeraLayout({
      stateDir: dir,
      ports: portsFromBase(3),
    });
    expect(layout.nodes.every((node) => isLocal(node, layout.nodes[0]!))).to.equal(true);
    let asked = 0;
    // The others' sockets do not exist here: not running, no files.
    const states = await gatherStartStates(layout, layout.nodes[0], () => {
      asked += 1;
      return Promise.reject(new Error('must not be asked'));
    });
    expect(asked).to.equal(0);
    expect(states.map((s) => [s.name, s.running, s.unknown])).to.deep.equal([
      ['n1', false, undefined],
      ['n2', false, undefined],
      ['n3', false, undefined],
    ]);
  });

  it("listedAsMember() reads another host's node's members from its agent's answer", async function () {
    const layout = hostsLayout(dir);
    const [n1, n2] = layout.nodes as [(typeof layout.nodes)[0], (typeof layout.nodes)[0]];
    const listing = [{ name: 'n2', running: true, members: ['10.9.0.1:3311', '10.9.0.2:3312'] }];
    expect(await listedAsMember(n1, [n2], 1000, listing)).to.equal(true);
    const evicted = [{ name: 'n2', running: true, members: ['10.9.0.2:3312'] }];
    expect(await listedAsMember(n1, [n2], 1000, evicted)).to.equal(false);
  });
});

describe('the agent answers GET /start-state, and askStartState() reads it', function () {
  let agent: HealthAgent | undefined;
  afterEach(async function () {
    await agent?.close();
    agent = undefined;
  });

  it("answers its own node's start state, 503 when it cannot read it, 404 without a reader", async function () {
    const [p1, p2, p3] = [await freePort(), await freePort(), await freePort()];
    const login = { host: '127.0.0.1', port: 1, user: 'check', password: 'x' };
    let fail = false;
    const state = answer('n1', { grastate: { uuid: UUID, seqno: 42, safeToBootstrap: true } });
    agent = await startHealthAgent({
      timeoutMs: 200,
      nodes: [
        {
          name: 'n1',
          port: p1,
          login,
          startState: () => (fail ? Promise.reject(new Error('grastate.dat is empty')) : Promise.resolve(state)),
        },
        { name: 'n2', port: p2, login },
      ],
    });
    const ok = await fetch(`http://127.0.0.1:${agent.ports.n1}${START_STATE_PATH}`);
    expect(ok.status).to.equal(200);
    expect(await ok.json()).to.deep.equal(state);
    // The way a runner on another host asks: at the node's address and agent port.
    const layout = hostsLayout('/nonexistent', ['127.0.0.1', '127.0.0.2', '127.0.0.3']);
    const n1 = { ...layout.nodes[0]!, ports: { ...layout.nodes[0]!.ports, agent: p1 } };
    expect(await askStartState(n1, 2000)).to.deep.equal(state);
    fail = true;
    const unreadable = await fetch(`http://127.0.0.1:${agent.ports.n1}${START_STATE_PATH}`);
    expect(unreadable.status).to.equal(503);
    expect(await unreadable.json()).to.deep.include({ node: 'n1', error: 'unreadable' });
    await askStartState(n1, 2000).then(
      () => expect.fail('an unreadable state must reject'),
      (error: Error) => expect(error.message).to.match(/n1's agent answered 503/),
    );
    expect((await fetch(`http://127.0.0.1:${agent.ports.n2}${START_STATE_PATH}`)).status).to.equal(404);
    // Nothing listens there: rejects at once, not a hang.
    const n3 = { ...layout.nodes[2]!, address: '127.0.0.1', ports: { ...layout.nodes[2]!.ports, agent: p3 } };
    const started = Date.now();
    await askStartState(n3, 2000).then(
      () => expect.fail('no agent must reject'),
      (error: Error) => expect(error.message).to.match(/ECONNREFUSED/),
    );
    expect(Date.now() - started).to.be.below(1500);
  });
});

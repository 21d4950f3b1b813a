import { expect } from 'chai';
import { planStart, type NodeStartState } from '../../cluster/database/galera/recovery-plan';

const UUID = '5b7da98a-e9f2-11f1-acb2-e6b84ded841a';
const OTHER = '11111111-2222-3333-4444-555555555555';

function node(name: string, state: Partial<NodeStartState> = {}): NodeStartState {
  return { name, running: false, ...state };
}

const clean = (seqno: number, safe = false) => ({ uuid: UUID, seqno, safeToBootstrap: safe });
const crashed = { uuid: UUID, seqno: -1, safeToBootstrap: false };

describe('planStart(nodes): who bootstraps, who joins and from where', function () {
  it('fresh cluster (no grastate.dat anywhere): n1 bootstraps, the others join by SST', function () {
    expect(planStart([node('n1'), node('n2'), node('n3')])).to.deep.equal({
      kind: 'start',
      bootstrap: 'n1',
      actions: { n1: { kind: 'bootstrap', markSafeToBootstrap: false }, n2: { kind: 'join' }, n3: { kind: 'join' } },
      reason: 'No node has a cluster state: a new cluster, bootstrapped by n1.',
    });
  });

  it('clean stop (every seqno saved, the last to leave safe_to_bootstrap: 1): that node bootstraps as it is', function () {
    const plan = planStart([
      node('n1', { grastate: clean(42) }),
      node('n2', { grastate: clean(42) }),
      node('n3', { grastate: clean(42, true) }),
    ]);
    expect(plan).to.deep.include({
      kind: 'start',
      bootstrap: 'n3',
      actions: { n1: { kind: 'join' }, n2: { kind: 'join' }, n3: { kind: 'bootstrap', markSafeToBootstrap: false } },
    });
  });

  it('clean stop with writes after the first nodes left: the highest seqno wins (it is also the safe one)', function () {
    const plan = planStart([
      node('n1', { grastate: clean(40) }),
      node('n2', { grastate: clean(44, true) }),
      node('n3', { grastate: clean(41) }),
    ]);
    expect(plan.kind === 'start' && plan.bootstrap).to.equal('n2');
  });

  it('all SIGKILLed (seqno -1 everywhere), not yet recovered: recover every node first', function () {
    expect(
      planStart([
        node('n1', { grastate: crashed }),
        node('n2', { grastate: crashed }),
        node('n3', { grastate: crashed }),
      ]),
    ).to.deep.equal({
      kind: 'recover-first',
      nodes: ['n1', 'n2', 'n3'],
      reason: 'n1, n2, n3 stopped without saving a position (seqno -1): run mariadbd --wsrep-recover first.',
    });
  });

  it('all SIGKILLed and recovered: the highest recovered seqno bootstraps after being marked safe, the others join from their positions', function () {
    const plan = planStart([
      node('n1', { grastate: crashed, recovered: { uuid: UUID, seqno: 17 } }),
      node('n2', { grastate: crashed, recovered: { uuid: UUID, seqno: 19 } }),
      node('n3', { grastate: crashed, recovered: { uuid: UUID, seqno: 18 } }),
    ]);
    expect(plan).to.deep.equal({
      kind: 'start',
      bootstrap: 'n2',
      actions: {
        n1: { kind: 'join', startPosition: `${UUID}:17` },
        n2: { kind: 'bootstrap', markSafeToBootstrap: true, startPosition: `${UUID}:19` },
        n3: { kind: 'join', startPosition: `${UUID}:18` },
      },
      reason: 'No node is running; n2 has the highest position (seqno n1 17, n2 19, n3 18) and bootstraps.',
    });
  });

  it('a tie between crashed nodes goes to the first; a crashed node beats a lower clean one', function () {
    const tie = planStart([
      node('n1', { grastate: crashed, recovered: { uuid: UUID, seqno: 9 } }),
      node('n2', { grastate: crashed, recovered: { uuid: UUID, seqno: 9 } }),
      node('n3', { grastate: clean(8) }),
    ]);
    expect(tie.kind === 'start' && [tie.bootstrap, tie.actions.n3]).to.deep.equal(['n1', { kind: 'join' }]);
  });

  it('one node down while the others run: it just joins (from its recovered position after a crash); nobody bootstraps', function () {
    const plan = planStart([
      node('n1', { running: true, grastate: crashed }),
      node('n2', { grastate: crashed, recovered: { uuid: UUID, seqno: 7 } }),
      node('n3', { running: true, grastate: crashed }),
    ]);
    expect(plan).to.deep.equal({
      kind: 'start',
      actions: { n1: { kind: 'running' }, n2: { kind: 'join', startPosition: `${UUID}:7` }, n3: { kind: 'running' } },
      reason: 'n1, n3 running: every stopped node joins.',
    });
  });

  it('one node down after a clean stop while the others run: it joins with what grastate.dat says', function () {
    const plan = planStart([
      node('n1', { running: true }),
      node('n2', { grastate: clean(5) }),
      node('n3', { running: true }),
    ]);
    expect(plan.kind === 'start' && plan.actions.n2).to.deep.equal({ kind: 'join' });
  });

  it('a crashed node still needs recovering while others run (to rejoin by IST rather than SST)', function () {
    const plan = planStart([
      node('n1', { running: true }),
      node('n2', { grastate: crashed }),
      node('n3', { running: true }),
    ]);
    expect(plan.kind === 'recover-first' && plan.nodes).to.deep.equal(['n2']);
  });

  it('a node whose recovery found no position (-1) joins by SST; a fresh datadir beside a history joins too', function () {
    const plan = planStart([
      node('n1', { grastate: clean(3, true) }),
      node('n2', { grastate: crashed, recovered: { uuid: UUID, seqno: -1 } }),
      node('n3'),
    ]);
    expect(plan.kind === 'start' && [plan.bootstrap, plan.actions.n2, plan.actions.n3]).to.deep.equal([
      'n1',
      { kind: 'join' },
      { kind: 'join' },
    ]);
  });

  it('states from different clusters: refuses to choose', function () {
    const plan = planStart([
      node('n1', { grastate: clean(3) }),
      node('n2', { grastate: { uuid: OTHER, seqno: 9, safeToBootstrap: true } }),
    ]);
    expect(plan).to.deep.equal({
      kind: 'refuse',
      reason: `The nodes' states belong to different clusters (n1 ${UUID}:3, n2 ${OTHER}:9); choose one by hand.`,
    });
  });
});

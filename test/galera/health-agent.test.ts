// The agent's verdicts and routing, without a cluster: judgeWsrep() on the states a node goes through,
// and the HTTP side against a port nothing listens on (503 with the reason, within the timeout).
import { expect } from 'chai';
import { answerBody, requestedNode, startHealthAgent } from '../../cluster/database/galera/health-agent';
import { judgeWsrep, statusRecord } from '../../cluster/database/galera/wsrep-status';
import { freePort } from '../../cluster/free-port';

const SYNCED = {
  wsrep_local_state: '4',
  wsrep_local_state_comment: 'Synced',
  wsrep_cluster_status: 'Primary',
  wsrep_ready: 'ON',
};

describe('judgeWsrep(status): fit for queries only when Synced, Primary and ready', function () {
  it('passes a Synced member of the Primary component', function () {
    expect(judgeWsrep(SYNCED)).to.deep.equal({ ok: true, status: SYNCED });
  });

  it('fails a Donor, a Joiner, a non-Primary node, and says why', function () {
    expect(
      judgeWsrep({ ...SYNCED, wsrep_local_state: '2', wsrep_local_state_comment: 'Donor/Desynced' }).reason,
    ).to.equal('wsrep_local_state is 2 (Donor/Desynced), not 4 (Synced).');
    expect(judgeWsrep({ ...SYNCED, wsrep_local_state: '1', wsrep_local_state_comment: 'Joining' }).ok).to.equal(false);
    expect(
      judgeWsrep({
        wsrep_local_state: '0',
        wsrep_local_state_comment: 'Initialized',
        wsrep_cluster_status: 'non-Primary',
        wsrep_ready: 'OFF',
      }).reason,
    ).to.equal(
      'wsrep_local_state is 0 (Initialized), not 4 (Synced); wsrep_cluster_status is non-Primary, not Primary; wsrep_ready is OFF, not ON.',
    );
  });

  it('fails a server without Galera', function () {
    expect(judgeWsrep({}).reason).to.match(/^The server reports no wsrep status/);
  });

  it('reads SHOW STATUS rows into a record, names in lower case', function () {
    expect(statusRecord([{ Variable_name: 'WSREP_READY', Value: 'ON' }])).to.deep.equal({ wsrep_ready: 'ON' });
  });
});

describe('the health agent over HTTP', function () {
  it("routes / to the listener's own node and /<name> to any known node", function () {
    const known = new Set(['n1', 'n2']);
    expect([
      requestedNode('/', 'n1', known),
      requestedNode('/n2', 'n1', known),
      requestedNode('/n2/', 'n1', known),
      requestedNode('/x', 'n1', known),
    ]).to.deep.equal(['n1', 'n2', 'n2', undefined]);
  });

  it('answers with the node, the verdict, the reason and the variables read', function () {
    expect(answerBody('n1', judgeWsrep({ ...SYNCED, wsrep_cluster_size: '3', other: 'x' }))).to.deep.equal({
      node: 'n1',
      ok: true,
      ...SYNCED,
      wsrep_cluster_size: '3',
    });
  });

  it('answers 503 with the reason for a node it cannot reach, 404 for an unknown one, 405 for a POST', async function () {
    const dead = await freePort();
    const agent = await startHealthAgent({
      nodes: [{ name: 'n1', port: 0, login: { host: '127.0.0.1', port: dead, user: 'x', password: 'y' } }],
      timeoutMs: 500,
    });
    try {
      const base = `http://127.0.0.1:${agent.ports.n1}`;
      const started = performance.now();
      const response = await fetch(`${base}/`);
      expect([response.status, await response.json()]).to.deep.equal([
        503,
        { node: 'n1', ok: false, reason: `Cannot read the node's status: connect ECONNREFUSED 127.0.0.1:${dead}` },
      ]);
      expect(performance.now() - started).to.be.below(2000);
      expect((await fetch(`${base}/n2`)).status).to.equal(404);
      expect((await fetch(`${base}/`, { method: 'POST' })).status).to.equal(405);
    } finally {
      await agent.close();
    }
  });
});

// The hosts part of `npm run status` over several hosts (cluster/hosts/hosts-table.ts): one line per host
// with its node, its proxy and the node that proxy writes to, the verdict under it, and each proxy's JSON.
import { expect } from 'chai';
import { proxyJson, renderHostsTable, type HostRow } from '../../cluster/hosts/hosts-table';
import { unreachableProxy, type ProxyView } from '../../cluster/hosts/proxy-view';

const up = (host: string, writer: string | undefined, nodes: Record<string, string>): ProxyView => ({
  host,
  address: `10.0.0.${host.slice(1)}`,
  reachable: true,
  nodes,
  ...(writer === undefined ? {} : { writer }),
});
const ALL_UP = { n1: 'UP', n2: 'UP', n3: 'UP' };
const row = (proxy: ProxyView, galera = 'Synced, size 3'): HostRow => ({
  host: proxy.host,
  address: proxy.address,
  node: `n${proxy.host.slice(1)}`,
  galera,
  proxy,
});

describe('renderHostsTable(rows)', function () {
  it('lists every host with its node, its proxy and the node it writes to, then the verdict', function () {
    expect(
      renderHostsTable([row(up('h1', 'n1', ALL_UP)), row(up('h2', 'n1', ALL_UP)), row(up('h3', 'n1', ALL_UP))]),
    ).to.equal(
      [
        "host  address   node  galera          proxy  writes to  proxy's checks",
        '----  --------  ----  --------------  -----  ---------  -------------------',
        'h1    10.0.0.1  n1    Synced, size 3  up     n1         n1 UP, n2 UP, n3 UP',
        'h2    10.0.0.2  n2    Synced, size 3  up     n1         n1 UP, n2 UP, n3 UP',
        'h3    10.0.0.3  n3    Synced, size 3  up     n1         n1 UP, n2 UP, n3 UP',
        'Every proxy that answers writes to n1.',
      ].join('\n'),
    );
  });

  it('shows a cut-off host unreachable with the reason, an empty table, and a writer DOWN in its own checks', function () {
    const checks = { n1: 'DOWN', n2: 'UP', n3: 'UP' };
    const text = renderHostsTable([
      row(unreachableProxy('h1', '10.0.0.1', 'no answer in 2000 ms'), 'agent unreachable'),
      row(up('h2', 'n1', checks)),
      row(up('h3', undefined, checks)),
    ]);
    expect(text.split('\n').slice(2)).to.deep.equal([
      'h1    10.0.0.1  n1    agent unreachable  unreachable  -               no answer in 2000 ms',
      'h2    10.0.0.2  n2    Synced, size 3     up           n1 (DOWN here)  n1 DOWN, n2 UP, n3 UP',
      'h3    10.0.0.3  n3    Synced, size 3     up           none yet        n1 DOWN, n2 UP, n3 UP',
      "Every proxy that answers writes to n1. No writer yet in h3's proxy (an empty table, filled by the next connection or a peer). " +
        "The writer named by h2's proxy is not UP in its own checks: its next connection goes to another node. Unreachable: h1's proxy.",
    ]);
  });

  it('flags proxies that write to different nodes', function () {
    const text = renderHostsTable([
      row(up('h1', 'n1', ALL_UP)),
      row(up('h2', 'n2', ALL_UP)),
      row(up('h3', 'n2', ALL_UP)),
    ]);
    expect(text.split('\n').at(-1)).to.equal(
      'DISAGREEMENT: the proxies write to different nodes: n1 (h1), n2 (h2, h3).',
    );
  });
});

describe('proxyJson(proxy, all)', function () {
  it('gives the writer and whether every proxy naming one agrees (null when it names none)', function () {
    const all = [up('h1', 'n2', ALL_UP), up('h2', undefined, ALL_UP), unreachableProxy('h3', '10.0.0.3', 'refused')];
    expect(all.map((p) => proxyJson(p, all))).to.deep.equal([
      { host: 'h1', address: '10.0.0.1', reachable: true, writer: 'n2', writerAgreed: true, nodes: ALL_UP },
      { host: 'h2', address: '10.0.0.2', reachable: true, writer: null, writerAgreed: null, nodes: ALL_UP },
      {
        host: 'h3',
        address: '10.0.0.3',
        reachable: false,
        writer: null,
        writerAgreed: null,
        nodes: {},
        reason: 'refused',
      },
    ]);
  });

  it('marks every proxy not agreed when two name different writers', function () {
    const all = [up('h1', 'n1', ALL_UP), up('h2', 'n2', ALL_UP), up('h3', 'n2', ALL_UP)];
    expect(all.map((p) => (proxyJson(p, all) as { writerAgreed: boolean }).writerAgreed)).to.deep.equal([
      false,
      false,
      false,
    ]);
  });
});

// `npm run status` over several hosts (cluster/stack-status.ts): every host's HAProxy is a row, with its
// proxy as read over the network in the haproxy column and in --json, and the hosts table under the
// app table, in topology order. On one machine nothing of it: the output is the app table as before.
import { expect } from 'chai';
import { unreachableProxy, type ProxyView } from '../../cluster/hosts/proxy-view';
import type { Pm2Process } from '../../cluster/pm2';
import { renderStatus, statusJson, type AppStatus, type GaleraNodeStatus } from '../../cluster/stack-status';

const pm2 = (name: string, pid: number): Pm2Process => ({
  name,
  pid,
  status: 'online',
  restarts: 0,
  uptimeMs: 65_000,
  memoryBytes: 50 * 1048576,
  cpuPercent: 1,
  execMode: 'fork_mode',
  args: [],
  env: {},
});
const synced = (node: string, writer = false): GaleraNodeStatus => ({
  node,
  ok: true,
  state: 'Synced',
  clusterSize: '3',
  clusterStatus: 'Primary',
  writer,
});
const ALL_UP = { n1: 'UP', n2: 'UP', n3: 'UP' };
const proxyUp = (host: string, writer: string): ProxyView => ({
  host,
  address: `10.0.0.${host.slice(1)}`,
  reachable: true,
  writer,
  nodes: ALL_UP,
});

/** h2's rows of a three-host stack: its own node and proxy, the others' as remote rows. */
function onH2(h3: ProxyView): AppStatus[] {
  return [
    { name: 'kh-galera-n2', pm2: pm2('kh-galera-n2', 11), url: 'mysql://127.0.0.1:3312', galera: synced('n2') },
    {
      name: 'kh-h2-haproxy',
      pm2: pm2('kh-h2-haproxy', 12),
      url: 'http://127.0.0.1:8080',
      proxy: { view: proxyUp('h2', 'n1'), node: 'n2' },
    },
    { name: 'kh-galera-n1', url: 'mysql://10.0.0.1:3311 (on h1)', remote: true, galera: synced('n1', true) },
    {
      name: 'kh-galera-n3',
      url: 'mysql://10.0.0.3:3313 (on h3)',
      remote: true,
      galera: h3.reachable
        ? synced('n3')
        : { node: 'n3', ok: false, state: 'agent unreachable', clusterSize: '', clusterStatus: '', writer: false },
    },
    {
      name: 'kh-h1-haproxy',
      url: 'peers 10.0.0.1:10000 (on h1)',
      remote: true,
      proxy: { view: proxyUp('h1', 'n1'), node: 'n1' },
    },
    { name: 'kh-h3-haproxy', url: 'peers 10.0.0.3:10000 (on h3)', remote: true, proxy: { view: h3, node: 'n3' } },
  ];
}

describe('renderStatus(statuses) over several hosts', function () {
  it("shows each proxy's writer in the haproxy column and the hosts table in topology order", function () {
    const text = renderStatus(onH2(unreachableProxy('h3', '10.0.0.3', 'no answer in 2000 ms')));
    const lines = text.split('\n');
    expect(lines.find((l) => l.startsWith('kh-h2-haproxy'))).to.match(/ up, writes to n1 +http:/);
    expect(lines.find((l) => l.startsWith('kh-h1-haproxy'))).to.match(
      /^kh-h1-haproxy +remote .* up, writes to n1 +peers/,
    );
    expect(lines.find((l) => l.startsWith('kh-h3-haproxy'))).to.match(/ unreachable +peers/);
    const hosts = lines.slice(lines.findIndex((l) => l.startsWith('host ')));
    expect(hosts.map((l) => l.replace(/ +/g, ' '))).to.deep.equal([
      "host address node galera proxy writes to proxy's checks",
      hosts[1]!.replace(/ +/g, ' '),
      'h1 10.0.0.1 n1 Synced, size 3 up n1 n1 UP, n2 UP, n3 UP',
      'h2 10.0.0.2 n2 Synced, size 3 up n1 n1 UP, n2 UP, n3 UP',
      'h3 10.0.0.3 n3 agent unreachable unreachable - no answer in 2000 ms',
      "Every proxy that answers writes to n1. Unreachable: h3's proxy.",
    ]);
  });

  it('gives each proxy in --json, with writerAgreed false for all when two disagree', function () {
    const rows = statusJson(onH2(proxyUp('h3', 'n3'))) as { name: string; status: string; proxy?: object }[];
    expect(rows.filter((r) => r.proxy).map((r) => [r.name, r.status, r.proxy])).to.deep.equal([
      [
        'kh-h2-haproxy',
        'online',
        {
          host: 'h2',
          address: '10.0.0.2',
          reachable: true,
          writer: 'n1',
          writerAgreed: false,
          nodes: ALL_UP,
          node: 'n2',
        },
      ],
      [
        'kh-h1-haproxy',
        'remote',
        {
          host: 'h1',
          address: '10.0.0.1',
          reachable: true,
          writer: 'n1',
          writerAgreed: false,
          nodes: ALL_UP,
          node: 'n1',
        },
      ],
      [
        'kh-h3-haproxy',
        'remote',
        {
          host: 'h3',
          address: '10.0.0.3',
          reachable: true,
          writer: 'n3',
          writerAgreed: false,
          nodes: ALL_UP,
          node: 'n3',
        },
      ],
    ]);
    expect(renderStatus(onH2(proxyUp('h3', 'n3')))).to.match(
      /\nDISAGREEMENT: the proxies write to different nodes: n1 \(h1, h2\), n3 \(h3\)\.$/,
    );
  });
});

describe('renderStatus(statuses) on one machine', function () {
  it('is the app table alone, as before', function () {
    const statuses: AppStatus[] = [
      {
        name: 'kh-mariadb',
        pm2: pm2('kh-mariadb', 10),
        url: 'mysql://127.0.0.1:3306',
        haproxy: { proxy: 'mysql', server: 'mysql1', status: 'UP', sessions: 2, queue: 0 },
      },
      { name: 'kh-haproxy', pm2: pm2('kh-haproxy', 11), url: 'http://127.0.0.1:8080' },
    ];
    expect(renderStatus(statuses)).to.equal(
      [
        'app         pm2     pid  uptime  restarts  memory  cpu  ready  pool  haproxy               url',
        '----------  ------  ---  ------  --------  ------  ---  -----  ----  --------------------  ----------------------',
        'kh-mariadb  online  10   1m5s    0         50 MB   1%                UP, 2 sess, 0 queued  mysql://127.0.0.1:3306',
        'kh-haproxy  online  11   1m5s    0         50 MB   1%                                      http://127.0.0.1:8080',
      ].join('\n'),
    );
    expect(statusJson(statuses).some((row) => 'proxy' in row)).to.equal(false);
  });
});

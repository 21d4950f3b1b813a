// The apps placed on hosts (issue 19, wiring step 2): with STACK_HOSTS, each host's app model lists its
// own Galera node (the node of its index, at its host's address), its agent, its HAProxy (the writer
// backend and the peers section, `-L <host>`) and its workers; status also sees the other hosts' node and
// HAProxy as remote entries. The rendered pm2 list and HAProxy files of a 3-host topology, the latter
// checked by haproxy -c.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { everyHostApps, LOCAL_HOST, stackApps } from '../../cluster/apps';
import { galeraMariadbdArgs, providerOptions } from '../../cluster/database/galera/args';
import { galeraLayoutOf } from '../../cluster/database/galera/env';
import { agentTargets, galeraTargets } from '../../cluster/database/galera/targets';
import { buildApps } from '../../cluster/ecosystem';
import { haproxyArgs, haproxyPaths, renderMysqlBackend, writeHaproxyConfig } from '../../cluster/haproxy/config-files';
import { loadStackSettings } from '../../cluster/settings';
import { systemBinary } from '../../cluster/system-packages';

const PROVIDER = '/usr/lib/galera/libgalera_smm.so';
const HOSTS = [
  { name: 'h1', address: '10.77.9.1' },
  { name: 'h2', address: '10.77.9.2' },
  { name: 'h3', address: '10.77.9.3' },
];

describe('apps placed on hosts (STACK_HOSTS)', function () {
  let dir: string;
  let file: string;
  const settingsOf = (host: string, env: Record<string, string> = {}) => {
    const full = { STACK_DIR: path.join(dir, host), STACK_HOSTS: file, STACK_HOST: host, ...env };
    return loadStackSettings(full);
  };

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kh-placement-'));
    file = path.join(dir, 'hosts.json');
    fs.writeFileSync(file, JSON.stringify({ hosts: HOSTS }));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('on one machine every app is on the local host and none is remote', function () {
    const apps = stackApps(loadStackSettings({ STACK_DIR: dir, DB_TOPOLOGY: 'galera' }));
    expect([...new Set(apps.map((app) => app.host))]).to.deep.equal([LOCAL_HOST]);
    expect(apps.filter((app) => app.remote)).to.deep.equal([]);
    expect(everyHostApps(loadStackSettings({ STACK_DIR: dir }))).to.deep.equal(
      stackApps(loadStackSettings({ STACK_DIR: dir })),
    );
  });

  it("lists this host's node, agent, HAProxy and workers, each claiming its ports on the right address", function () {
    const apps = stackApps(settingsOf('h2'));
    expect(apps.map((app) => [app.name, app.kind, app.host, app.node ?? ''])).to.deep.equal([
      ['kh-galera-n2', 'galera-node', 'h2', 'n2'],
      ['kh-h2-galera-agent', 'galera-agent', 'h2', ''],
      ['kh-h2-haproxy', 'haproxy', 'h2', ''],
      ['kh-h2-worker-8000', 'worker', 'h2', ''],
      ['kh-h2-worker-8001', 'worker', 'h2', ''],
    ]);
    expect(apps.map((app) => app.ports.map((c) => `${c.setting}=${c.host}:${c.port}`))).to.deep.equal([
      [
        'GALERA_CLIENT_PORT (+1)=127.0.0.1:3312',
        'GALERA_GROUP_PORT (n2)=10.77.9.2:4577',
        'GALERA_IST_PORT (n2)=10.77.9.2:4578',
        'GALERA_SST_PORT (n2)=10.77.9.2:4454',
      ],
      ['GALERA_AGENT_PORT (+1)=0.0.0.0:9202'],
      [
        'HAPROXY_PORT=127.0.0.1:5555',
        'HAPROXY_STATS_PORT=127.0.0.1:8404',
        'HTTP_PORT=127.0.0.1:8080',
        'STACK_HOSTS peersPort=10.77.9.2:10000',
        'STACK_HOSTS statusPort=10.77.9.2:10001',
      ],
      ['WORKER_PORTS=127.0.0.1:8000'],
      ['WORKER_PORTS=127.0.0.1:8001'],
    ]);
    expect(agentTargets(settingsOf('h2'))).to.deep.equal([
      { name: 'n2', host: '127.0.0.1', port: 3312, agentPort: 9202 },
    ]);
  });

  it("status sees the other hosts' node and HAProxy as remote entries that claim no port", function () {
    const settings = settingsOf('h1');
    const remote = everyHostApps(settings).filter((app) => app.remote);
    expect(remote.map((app) => [app.name, app.kind, app.host, app.url, app.ports.length])).to.deep.equal([
      ['kh-galera-n2', 'galera-node', 'h2', 'mysql://10.77.9.2:3312', 0],
      ['kh-h2-haproxy', 'haproxy', 'h2', 'peers 10.77.9.2:10000', 0],
      ['kh-galera-n3', 'galera-node', 'h3', 'mysql://10.77.9.3:3313', 0],
      ['kh-h3-haproxy', 'haproxy', 'h3', 'peers 10.77.9.3:10000', 0],
    ]);
    expect(everyHostApps(settings).filter((app) => !app.remote)).to.deep.equal(stackApps(settings));
  });

  it('renders the pm2 app list of each host: its own node and agent, HAProxy with -L <host>', function () {
    for (const [i, host] of HOSTS.entries()) {
      const settings = settingsOf(host.name);
      const apps = buildApps(settings, {});
      expect(apps.map((app) => app.name)).to.deep.equal([
        `kh-galera-n${i + 1}`,
        `kh-${host.name}-galera-agent`,
        `kh-${host.name}-haproxy`,
        `kh-${host.name}-worker-8000`,
        `kh-${host.name}-worker-8001`,
      ]);
      expect(apps[0]?.args).to.deep.equal([`n${i + 1}`]);
      expect(apps[2]?.args?.slice(-2)).to.deep.equal(['-L', host.name]);
      expect(apps[3]?.env?.WORKER_NAME).to.equal(`kh-${host.name}-worker-8000`);
    }
  });

  it("renders each node's mariadbd on its host's address, gcomm:// over every host", function () {
    const layout = galeraLayoutOf(settingsOf('h3'));
    const n3 = layout.nodes[2]!;
    const args = galeraMariadbdArgs(layout, n3, { kind: 'join' }, PROVIDER);
    const wsrep = args.filter((a) => /^--(wsrep-(cluster|node|sst-receive)|bind)-/.test(a));
    expect(wsrep).to.deep.equal([
      '--bind-address=127.0.0.1',
      '--wsrep-cluster-name=kh-galera',
      '--wsrep-cluster-address=gcomm://10.77.9.1:4567,10.77.9.2:4577,10.77.9.3:4587',
      '--wsrep-node-name=n3',
      '--wsrep-node-address=10.77.9.3:4587',
      '--wsrep-node-incoming-address=10.77.9.3:3313',
      '--wsrep-sst-receive-address=10.77.9.3:4464',
      '--bind-address=127.0.0.1,10.77.9.3',
    ]);
    expect(providerOptions(layout, n3).split(';').slice(0, 2)).to.deep.equal([
      'gmcast.listen_addr=tcp://10.77.9.3:4587',
      'ist.recv_addr=10.77.9.3:4588',
    ]);
    // The last --bind-address is the one mariadbd keeps.
    expect(args.filter((a) => a.startsWith('--bind-address=')).at(-1)).to.equal('--bind-address=127.0.0.1,10.77.9.3');
  });

  it("one machine's Galera args are unchanged: loopback everywhere, one --bind-address", function () {
    const layout = galeraLayoutOf(loadStackSettings({ STACK_DIR: dir, DB_TOPOLOGY: 'galera' }));
    const args = galeraMariadbdArgs(layout, layout.nodes[1]!, { kind: 'join' }, PROVIDER);
    expect(args.filter((a) => a.startsWith('--bind-address='))).to.deep.equal(['--bind-address=127.0.0.1']);
    expect(args.filter((a) => a.includes('10.77.'))).to.deep.equal([]);
    expect(layout.nodes.some((node) => 'address' in node)).to.equal(false);
  });

  it("renders h2's MySQL backend: the peers section and the shared writer over every host's node", function () {
    const settings = settingsOf('h2');
    expect(galeraTargets(settings).map((t) => `${t.name} ${t.host}:${t.port}`)).to.deep.equal([
      'n1 10.77.9.1:3311',
      'n2 127.0.0.1:3312',
      'n3 10.77.9.3:3313',
    ]);
    const lines = renderMysqlBackend(settings)
      .split('\n')
      .filter((line) => /^(peers|backend|frontend|\s+(bind|server|stick))/.test(line));
    expect(lines).to.deep.equal([
      'peers kh-writers',
      // Mutual TLS with the stack CA (cluster/hosts/tls.ts's peers part: h2's node certificate).
      `    bind 10.77.9.2:10000 ssl crt ${dir}/h2/haproxy/peers.pem ca-file ${dir}/h2/secrets/galera/ca.pem verify required`,
      '    server h1 10.77.9.1:10000',
      '    server h2',
      '    server h3 10.77.9.3:10000',
      'backend mysql from mysql-defaults',
      '    stick-table type integer size 1 peers kh-writers',
      '    stick on int(1)',
      '    server n1 10.77.9.1:3311 maxconn 10 check addr 10.77.9.1 port 9201',
      '    server n2 127.0.0.1:3312 maxconn 10 check addr 127.0.0.1 port 9202 backup',
      '    server n3 10.77.9.3:3313 maxconn 10 check addr 10.77.9.3 port 9203 backup',
      // The status listener the other hosts' `npm run status` read this proxy through, same mutual TLS.
      'frontend kh-status from mysql-defaults',
      `    bind 10.77.9.2:10001 ssl crt ${dir}/h2/haproxy/peers.pem ca-file ${dir}/h2/secrets/galera/ca.pem verify required`,
    ]);
  });

  it('writes HAProxy files every host accepts with haproxy -c, without a warning (the peers section kept)', function () {
    for (const host of HOSTS) {
      const settings = settingsOf(host.name);
      writeHaproxyConfig(settings);
      const args = haproxyArgs(settings).filter(
        (a) => a !== '-W' && a !== '-db' && a !== '-p' && a !== haproxyPaths(settings).pid,
      );
      const result = spawnSync(systemBinary('haproxy'), ['-c', ...args], {
        env: { PATH: process.env.PATH ?? '' },
        encoding: 'utf8',
      });
      expect({ status: result.status, output: `${result.stdout}${result.stderr}` }).to.deep.equal({
        status: 0,
        output: 'Configuration file is valid\n',
      });
    }
  });
});

import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { mariadbdArgs } from '../../cluster/database/embedded';
import {
  galeraMariadbdArgs,
  galeraProvider,
  providerOptions,
  renderSstOptionFile,
  sstMethod,
  wsrepRecoverArgs,
} from '../../cluster/database/galera/args';
import { galeraLayoutFromEnv } from '../../cluster/database/galera/env';
import { renderGaleraBackend } from '../../cluster/database/galera/haproxy-backend';
import {
  clusterAddress,
  galeraLayout,
  portProblems,
  portsFromBase,
  portsFromList,
} from '../../cluster/database/galera/layout';
import { findSystemBinary } from '../../cluster/system-packages';

const PROVIDER = '/usr/lib/galera/libgalera_smm.so';
const layout = galeraLayout({ stateDir: '/srv/stack', ports: portsFromBase(3) });
const [n1, n2] = layout.nodes as [(typeof layout.nodes)[0], (typeof layout.nodes)[0]];

describe('Galera layout: ports and folders of each node', function () {
  it("derives every node's ports from the base, IST never on the next node's group port", function () {
    expect(portsFromBase(3)).to.deep.equal([
      { client: 3311, group: 4567, ist: 4568, sst: 4444, agent: 9201 },
      { client: 3312, group: 4577, ist: 4578, sst: 4454, agent: 9202 },
      { client: 3313, group: 4587, ist: 4588, sst: 4464, agent: 9203 },
    ]);
    expect(portsFromList(1, [1, 2, 3, 4, 5])).to.deep.equal([{ client: 1, group: 2, ist: 3, sst: 4, agent: 5 }]);
    expect(() => portsFromList(2, [1, 2, 3])).to.throw('2 Galera nodes need 10 ports, got 3.');
  });

  it('rejects ports used twice or out of range', function () {
    const ports = portsFromBase(2, { client: 3311, group: 4567, ist: 4577, sst: 4444, agent: 70000 });
    expect(portProblems(ports)).to.deep.equal([
      'n1 agent port must be between 1 and 65535, got 70000.',
      'n2 group port 4577 is also the n1 ist port.',
      'n2 agent port must be between 1 and 65535, got 70001.',
    ]);
    expect(() => galeraLayout({ stateDir: '/s', ports })).to.throw('Bad Galera ports:');
  });

  it("keeps each node's files under <stateDir>/galera/<name> and lists every group port in the cluster address", function () {
    expect(n2).to.deep.equal({
      index: 2,
      name: 'n2',
      dir: '/srv/stack/galera/n2',
      datadir: '/srv/stack/galera/n2/data',
      socket: '/srv/stack/galera/n2/mysqld.sock',
      pidFile: '/srv/stack/galera/n2/mysqld.pid',
      logFile: '/srv/stack/galera/n2/mysqld.err',
      recoveredFile: '/srv/stack/galera/n2/recovered-position',
      optionFile: '/srv/stack/galera/n2/my.cnf',
      tls: {
        dir: '/srv/stack/secrets/galera/n2',
        cert: '/srv/stack/secrets/galera/n2/cert.pem',
        key: '/srv/stack/secrets/galera/n2/key.pem',
      },
      ports: { client: 3312, group: 4577, ist: 4578, sst: 4454, agent: 9202 },
    });
    expect(layout.tls).to.deep.equal({
      dir: '/srv/stack/secrets/galera',
      ca: '/srv/stack/secrets/galera/ca.pem',
      caKey: '/srv/stack/secrets/galera/ca-key.pem',
    });
    expect(clusterAddress(layout)).to.equal('gcomm://127.0.0.1:4567,127.0.0.1:4577,127.0.0.1:4587');
  });

  it('names the cluster after STACK_NAME, so two stacks on one machine are two groups', function () {
    expect(layout.clusterName).to.equal('kh-galera');
    expect(galeraLayoutFromEnv({ STACK_DIR: '/srv/stack', STACK_NAME: 'shop' }).clusterName).to.equal('shop-galera');
    expect(galeraLayout({ stateDir: '/s', ports: portsFromBase(3), stackName: 'test' }).clusterName).to.equal(
      'test-galera',
    );
  });

  it('reads the layout from GALERA_* and STACK_DIR, odd node counts of 3 or more only', function () {
    const fromEnv = galeraLayoutFromEnv({ STACK_DIR: '/srv/stack', GALERA_NODES: '5', GALERA_CLIENT_PORT: '13311' });
    expect([fromEnv.nodes.length, fromEnv.nodes[4]?.ports.client, fromEnv.nodes[4]?.dir]).to.deep.equal([
      5,
      13315,
      '/srv/stack/galera/n5',
    ]);
    expect(() => galeraLayoutFromEnv({ GALERA_NODES: '2' })).to.throw(
      'GALERA_NODES must be an odd number of at least 3, got 2.',
    );
  });
});

describe('galeraMariadbdArgs(layout, node, mode)', function () {
  it("is the embedded server's argv followed by the wsrep settings (the 64 MB buffer pool overriding)", function () {
    const base = mariadbdArgs({
      datadir: n1.datadir,
      port: 3311,
      socket: n1.socket,
      pidFile: n1.pidFile,
      logFile: n1.logFile,
    });
    expect(base[0]).to.equal('--no-defaults');
    expect(galeraMariadbdArgs(layout, n1, { kind: 'join' }, PROVIDER)).to.deep.equal([
      '--defaults-file=/srv/stack/galera/n1/my.cnf',
      ...base.slice(1),
      '--wsrep-on=ON',
      `--wsrep-provider=${PROVIDER}`,
      '--wsrep-cluster-name=kh-galera',
      '--wsrep-cluster-address=gcomm://127.0.0.1:4567,127.0.0.1:4577,127.0.0.1:4587',
      '--wsrep-node-name=n1',
      '--wsrep-node-address=127.0.0.1:4567',
      '--wsrep-node-incoming-address=127.0.0.1:3311',
      '--wsrep-provider-options=gmcast.listen_addr=tcp://127.0.0.1:4567;ist.recv_addr=127.0.0.1:4568;gcache.size=32M;socket.ssl=YES;' +
        'socket.ssl_key=/srv/stack/secrets/galera/n1/key.pem;socket.ssl_cert=/srv/stack/secrets/galera/n1/cert.pem;' +
        'socket.ssl_ca=/srv/stack/secrets/galera/ca.pem',
      `--wsrep-sst-method=${sstMethod()}`,
      '--wsrep-sst-receive-address=127.0.0.1:4444',
      '--wsrep-sst-donor=n3,',
      '--binlog-format=ROW',
      '--default-storage-engine=InnoDB',
      '--innodb-autoinc-lock-mode=2',
      '--wsrep-sync-wait=1',
      '--innodb-buffer-pool-size=64M',
    ]);
  });

  it('adds --wsrep-new-cluster to bootstrap and --wsrep-start-position for a recovered node; --wsrep-recover logs aside', function () {
    const tail = (args: string[]) => args.slice(-2);
    expect(tail(galeraMariadbdArgs(layout, n1, { kind: 'bootstrap' }, PROVIDER))).to.deep.equal([
      '--innodb-buffer-pool-size=64M',
      '--wsrep-new-cluster',
    ]);
    expect(tail(galeraMariadbdArgs(layout, n2, { kind: 'join', startPosition: 'u:7' }, PROVIDER))).to.deep.equal([
      '--innodb-buffer-pool-size=64M',
      '--wsrep-start-position=u:7',
    ]);
    const recover = wsrepRecoverArgs(layout, n2, '/tmp/r.log', PROVIDER);
    expect([recover[0], ...tail(recover)]).to.deep.equal([
      '--no-defaults',
      '--wsrep-recover',
      '--log-error=/tmp/r.log',
    ]);
    expect(recover.filter((arg) => arg.startsWith('--defaults-file'))).to.deep.equal([]);
  });

  it("gives the SST script the node's key and certificate and the CA in [sst], both ends verifying the chain", function () {
    expect(renderSstOptionFile(layout, n2).split('\n')).to.deep.equal([
      '# n2 of kh-galera, written at each start (cluster/database/galera/args.ts).',
      '[sst]',
      'tkey = /srv/stack/secrets/galera/n2/key.pem',
      'tcert = /srv/stack/secrets/galera/n2/cert.pem',
      'tca = /srv/stack/secrets/galera/ca.pem',
      'ssl-mode = VERIFY_CA',
      '',
    ]);
  });

  it('refuses a state dir with ";", which would split wsrep_provider_options', function () {
    const odd = galeraLayout({ stateDir: '/srv/a;b', ports: portsFromBase(3) });
    expect(() => providerOptions(odd, odd.nodes[0]!)).to.throw(
      'Galera cannot take a path with ";" in wsrep_provider_options: /srv/a;b/secrets/galera/n1/key.pem',
    );
  });

  it('finds the provider library galera-4 installs, and uses rsync SST (as root: its daemon kept root)', function () {
    expect(galeraProvider((file) => file === '/usr/lib/libgalera_smm.so')).to.equal('/usr/lib/libgalera_smm.so');
    expect(() => galeraProvider(() => false)).to.throw('install the Debian package galera-4');
    expect([sstMethod(false), sstMethod(true)]).to.deep.equal(['rsync', 'rsync_as_root']);
  });
});

describe('renderGaleraBackend(layout, options)', function () {
  it('one writer, the others backups, checked through the agent, writes kept where they went', function () {
    const text = renderGaleraBackend(layout, { maxconn: 10 });
    expect(text.split('\n').filter((line) => /^\s+(server|stick|option httpchk)/.test(line))).to.deep.equal([
      '    stick-table type ip size 1',
      '    stick on dst',
      '    option httpchk GET /',
      '    server n1 127.0.0.1:3311 maxconn 10 check addr 127.0.0.1 port 9201',
      '    server n2 127.0.0.1:3312 maxconn 10 check addr 127.0.0.1 port 9202 backup',
      '    server n3 127.0.0.1:3313 maxconn 10 check addr 127.0.0.1 port 9203 backup',
    ]);
  });

  it('is a configuration HAProxy accepts', function () {
    const haproxy = findSystemBinary('haproxy');
    if (haproxy === undefined) this.skip();
    const folder = mkdtempSync(path.join(os.tmpdir(), 'kh-galera-haproxy-'));
    try {
      const file = path.join(folder, 'galera.cfg');
      writeFileSync(
        file,
        `defaults\n    timeout connect 1s\n    timeout client 300s\n${renderGaleraBackend(layout, { maxconn: 10 })}\nfrontend mysql\n    mode tcp\n    bind 127.0.0.1:5555\n    default_backend mysql\n`,
      );
      execFileSync(haproxy as string, ['-c', '-q', '-f', file], { stdio: 'pipe' });
    } finally {
      rmSync(folder, { recursive: true, force: true });
    }
  });
});

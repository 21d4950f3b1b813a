import { expect } from 'chai';
import {
  ALL_TOPOLOGIES,
  dpkgStatuses,
  findSystemBinary,
  installPlan,
  manualInstallLine,
  missingPackages,
  type PackageProbe,
  parseDpkgStatuses,
  systemBinary,
  topologiesToInstall,
  withoutServiceStarts,
} from '../../cluster/system-packages';

const INSTALL = ['apt-get', 'install', '-y', '--no-install-recommends'];

describe('findSystemBinary(name, pathEnv, exists)', function () {
  it('finds a daemon in /usr/sbin when PATH lacks it, as for a non-root user', function () {
    const found = findSystemBinary('haproxy', '/usr/bin:/bin', (file) => file === '/usr/sbin/haproxy');
    expect(found).to.equal('/usr/sbin/haproxy');
  });

  it('prefers PATH over the system folders', function () {
    const found = findSystemBinary(
      'haproxy',
      '/opt/ha/bin',
      (file) => file === '/opt/ha/bin/haproxy' || file === '/usr/sbin/haproxy',
    );
    expect(found).to.equal('/opt/ha/bin/haproxy');
  });

  it('ignores relative PATH entries and answers undefined when nothing matches', function () {
    expect(findSystemBinary('haproxy', 'bin:.', (file) => file === 'bin/haproxy')).to.equal(undefined);
  });
});

describe('systemBinary(name)', function () {
  it('answers the absolute path of an installed binary', function () {
    expect(systemBinary('mariadbd')).to.equal('/usr/sbin/mariadbd');
  });

  it('throws naming the package and the command that installs it', function () {
    expect(() => systemBinary('no-such-binary-here')).to.throw(
      'no-such-binary-here was not found on PATH or in /usr/local/sbin, /usr/local/bin, /usr/sbin, /usr/bin, /sbin, /bin; run `npx tsx cluster/cli/ensure-system-packages.ts` to install it.',
    );
  });
});

describe('missingPackages(topologies, probe)', function () {
  const EVERY_BINARY = [
    'haproxy',
    'mariadbd',
    'mariadb-install-db',
    'wsrep_sst_rsync',
    'wsrep_sst_common',
    'mariadb',
    'prometheus',
    'promtool',
    'prometheus-mysqld-exporter',
    'ss',
    'rsync',
    'stunnel',
  ];
  const EVERY_PACKAGE = [
    'haproxy',
    'mariadb-server',
    'mariadb-server-core',
    'mariadb-client',
    'prometheus',
    'prometheus-mysqld-exporter',
    'iproute2',
    'galera-4',
    'rsync',
    'stunnel4',
  ];

  /** A machine with these binaries, and dpkg listing these packages as installed (undefined: no dpkg). */
  function machine(
    binaries: string[],
    installed: string[] | undefined,
    others: Record<string, string> = {},
  ): PackageProbe {
    const present = new Set(binaries);
    return {
      find: (binary) => (present.has(binary) ? `/usr/bin/${binary}` : undefined),
      statuses: (names) =>
        installed === undefined
          ? undefined
          : new Map(
              [...installed.map((name) => [name, 'installed'] as const), ...Object.entries(others)].filter(([name]) =>
                names.includes(name),
              ),
            ),
    };
  }

  it('lists each package with any binary missing, once', function () {
    const present = ['haproxy', 'mariadbd', 'mariadb', 'prometheus', 'ss'];
    expect(missingPackages(['embedded'], machine(present, undefined))).to.deep.equal([
      'mariadb-server',
      'prometheus',
      'prometheus-mysqld-exporter',
    ]);
  });

  it('lists mariadb-server and galera-4 for galera when only mariadb-server-core is left, though mariadbd is there', function () {
    // The probe's machine: `apt-get remove mariadb-server galera-4` (mariadb-server-core stays).
    const binaries = EVERY_BINARY.filter((b) => b !== 'wsrep_sst_rsync' && b !== 'wsrep_sst_common');
    const installed = EVERY_PACKAGE.filter((p) => p !== 'mariadb-server' && p !== 'galera-4');
    expect(
      missingPackages(['galera'], machine(binaries, installed, { 'mariadb-server': 'config-files' })),
    ).to.deep.equal(['mariadb-server', 'galera-4']);
  });

  it('lists galera-4 for galera when dpkg has it removed, though every binary is there', function () {
    expect(
      missingPackages(
        ['galera'],
        machine(
          EVERY_BINARY,
          EVERY_PACKAGE.filter((p) => p !== 'galera-4'),
        ),
      ),
    ).to.deep.equal(['galera-4']);
  });

  it('does not ask for the Galera packages when the topology is embedded', function () {
    expect(
      missingPackages(
        ['embedded'],
        machine(
          EVERY_BINARY.filter((b) => b !== 'rsync'),
          EVERY_PACKAGE.filter((p) => p !== 'galera-4' && p !== 'rsync'),
        ),
      ),
    ).to.deep.equal([]);
  });

  it('lists rsync for galera when its binary is gone', function () {
    expect(
      missingPackages(
        ['galera'],
        machine(
          EVERY_BINARY.filter((b) => b !== 'rsync'),
          EVERY_PACKAGE,
        ),
      ),
    ).to.deep.equal(['rsync']);
  });

  it('lists nothing on this machine, where every package of every topology is installed', function () {
    expect(missingPackages(ALL_TOPOLOGIES)).to.deep.equal([]);
  });
});

describe('parseDpkgStatuses(output)', function () {
  it("reads dpkg-query's lines, multi-arch names under the package name", function () {
    expect([
      ...parseDpkgStatuses('galera-4\tinstalled\nmariadb-server\tconfig-files\nlibc6:amd64\tinstalled\n'),
    ]).to.deep.equal([
      ['galera-4', 'installed'],
      ['mariadb-server', 'config-files'],
      ['libc6', 'installed'],
    ]);
  });

  it('knows the packages of this machine', function () {
    expect(dpkgStatuses(['galera-4', 'no-such-package-here'])).to.deep.equal(new Map([['galera-4', 'installed']]));
  });
});

describe('topologiesToInstall(env)', function () {
  it('is every topology under npm test', function () {
    expect(topologiesToInstall({ npm_lifecycle_event: 'test', DB_TOPOLOGY: 'embedded' })).to.deep.equal(ALL_TOPOLOGIES);
  });

  it('is the DB_TOPOLOGY chosen, embedded by default and external with MYSQL_HOST', function () {
    expect(topologiesToInstall({ DB_TOPOLOGY: 'galera' })).to.deep.equal(['galera']);
    expect(topologiesToInstall({})).to.deep.equal(['embedded']);
    expect(topologiesToInstall({ MYSQL_HOST: 'db.example' })).to.deep.equal(['external']);
  });
});

describe('installPlan(packages, context)', function () {
  it('plans nothing when nothing is missing', function () {
    expect(installPlan([], { euid: 1000, hasAptGet: false, hasSudo: false })).to.deep.equal({ kind: 'nothing' });
  });

  it('runs apt-get update once, then a non-interactive install, directly as root', function () {
    expect(installPlan(['haproxy', 'prometheus'], { euid: 0, hasAptGet: true, hasSudo: false })).to.deep.equal({
      kind: 'run',
      sudo: false,
      commands: [
        ['apt-get', 'update'],
        withoutServiceStarts(
          ['env', 'DEBIAN_FRONTEND=noninteractive', ...INSTALL, 'haproxy', 'prometheus'],
          ['haproxy', 'prometheus'],
        ),
      ],
    });
  });

  it('goes through sudo -n for another user when sudo exists', function () {
    expect(installPlan(['haproxy'], { euid: 1000, hasAptGet: true, hasSudo: true })).to.deep.equal({
      kind: 'run',
      sudo: true,
      commands: [
        ['sudo', '-n', 'apt-get', 'update'],
        [
          'sudo',
          '-n',
          ...withoutServiceStarts(['env', 'DEBIAN_FRONTEND=noninteractive', ...INSTALL, 'haproxy'], ['haproxy']),
        ],
      ],
    });
  });

  it('hands back the exact line to run when there is no sudo', function () {
    expect(installPlan(['haproxy'], { euid: 1000, hasAptGet: true, hasSudo: false })).to.deep.equal({
      kind: 'manual',
      line: 'sudo apt-get update && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends haproxy',
    });
  });

  it('hands back the line to run when there is no apt-get, even as root', function () {
    expect(installPlan(['haproxy'], { euid: 0, hasAptGet: false, hasSudo: true })).to.deep.equal({
      kind: 'manual',
      line: manualInstallLine(['haproxy']),
    });
  });
});

import { expect } from 'chai';
import {
  findSystemBinary,
  installPlan,
  manualInstallLine,
  missingPackages,
  systemBinary,
} from '../../cluster/system-packages';

const INSTALL = ['apt-get', 'install', '-y', '--no-install-recommends'];

describe('findSystemBinary(name, pathEnv, exists)', function () {
  it('finds a daemon in /usr/sbin when PATH lacks it, as for a non-root user', function () {
    const found = findSystemBinary('haproxy', '/usr/bin:/bin', (file) => file === '/usr/sbin/haproxy');
    expect(found).to.equal('/usr/sbin/haproxy');
  });

  it('prefers PATH over the system folders', function () {
    const found = findSystemBinary('haproxy', '/opt/ha/bin', (file) => file === '/opt/ha/bin/haproxy' || file === '/usr/sbin/haproxy');
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

describe('missingPackages(find)', function () {
  it('lists each package with any binary missing, once', function () {
    const present = new Set(['haproxy', 'mariadbd', 'mariadb', 'prometheus', 'ss']);
    expect(missingPackages((binary) => (present.has(binary) ? `/usr/bin/${binary}` : undefined))).to.deep.equal([
      'mariadb-server',
      'prometheus',
      'prometheus-mysqld-exporter',
    ]);
  });

  it('lists nothing on this machine, where every package is installed', function () {
    expect(missingPackages()).to.deep.equal([]);
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
        ['env', 'DEBIAN_FRONTEND=noninteractive', ...INSTALL, 'haproxy', 'prometheus'],
      ],
    });
  });

  it('goes through sudo -n for another user when sudo exists', function () {
    expect(installPlan(['haproxy'], { euid: 1000, hasAptGet: true, hasSudo: true })).to.deep.equal({
      kind: 'run',
      sudo: true,
      commands: [
        ['sudo', '-n', 'apt-get', 'update'],
        ['sudo', '-n', 'env', 'DEBIAN_FRONTEND=noninteractive', ...INSTALL, 'haproxy'],
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

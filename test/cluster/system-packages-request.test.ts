// What the installer installs per settings (Prometheus only for MONITORING=1 or the tests), and the
// policy-rc.d guard that keeps a package from starting its own service, run for real on a scratch path.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import {
  ALL_TOPOLOGIES,
  installPlan,
  installRequest,
  missingPackages,
  packagesFor,
  POLICY_RC_D,
  type PackageProbe,
  withoutServiceStarts,
} from '../../cluster/system-packages';

const BASE = ['haproxy', 'mariadb-server', 'mariadb-client', 'iproute2'];
const MONITORING = ['prometheus', 'prometheus-mysqld-exporter'];
const GALERA = ['galera-4', 'rsync', 'stunnel4'];

describe('installRequest(env, argv)', function () {
  it('is the embedded topology without monitoring by default', function () {
    expect(installRequest({}, [])).to.deep.equal({ topologies: ['embedded'], monitoring: false });
  });

  it('asks for monitoring with MONITORING=1 or true, not with 0, false or a value settings refuse', function () {
    expect(installRequest({ MONITORING: '1' }).monitoring).to.equal(true);
    expect(installRequest({ MONITORING: ' TRUE ' }).monitoring).to.equal(true);
    for (const value of ['0', 'false', '', 'yes'])
      expect(installRequest({ MONITORING: value }).monitoring).to.equal(false);
  });

  it('asks for every topology and monitoring with --for-tests, whatever the environment says', function () {
    expect(installRequest({ DB_TOPOLOGY: 'embedded', MONITORING: '0' }, ['--for-tests'])).to.deep.equal({
      topologies: ALL_TOPOLOGIES,
      monitoring: true,
    });
  });

  it('asks for everything as npm test’s lifecycle step too (the test script without --for-tests)', function () {
    expect(installRequest({ npm_lifecycle_event: 'test' }, [])).to.deep.equal({
      topologies: ALL_TOPOLOGIES,
      monitoring: true,
    });
    expect(installRequest({ npm_lifecycle_event: 'start' }, []).monitoring).to.equal(false);
  });
});

describe('packagesFor(request)', function () {
  const names = (request: Parameters<typeof packagesFor>[0]) => packagesFor(request).map((p) => p.name);

  it('is HAProxy, MariaDB and ss for npm start without MONITORING', function () {
    expect(names(installRequest({}))).to.deep.equal(BASE);
  });

  it('adds Prometheus and mysqld-exporter with MONITORING=1', function () {
    expect(names(installRequest({ MONITORING: '1' }))).to.have.members([...BASE, ...MONITORING]);
  });

  it('adds the Galera packages for DB_TOPOLOGY=galera, and everything for the tests', function () {
    expect(names(installRequest({ DB_TOPOLOGY: 'galera' }))).to.deep.equal([...BASE, ...GALERA]);
    expect(names(installRequest({}, ['--for-tests']))).to.have.members([...BASE, ...MONITORING, ...GALERA]);
  });
});

describe('missingPackages(request, probe)', function () {
  // A machine with HAProxy, MariaDB and ss, and no Prometheus.
  const probe: PackageProbe = {
    find: (binary) =>
      ['haproxy', 'mariadbd', 'mariadb-install-db', 'wsrep_sst_rsync', 'wsrep_sst_common', 'mariadb', 'ss'].includes(
        binary,
      )
        ? `/usr/bin/${binary}`
        : undefined,
    statuses: () => undefined,
  };

  it('does not list a missing Prometheus without MONITORING', function () {
    expect(missingPackages(installRequest({}), probe)).to.deep.equal([]);
  });

  it('lists it with MONITORING=1', function () {
    expect(missingPackages(installRequest({ MONITORING: '1' }), probe)).to.deep.equal(MONITORING);
  });
});

describe('installPlan(packages, context)', function () {
  it('runs apt-get install under the policy-rc.d guard, with the units of the packages it installs', function () {
    const plan = installPlan(['haproxy', 'prometheus', 'rsync'], { euid: 0, hasAptGet: true, hasSudo: false });
    expect(plan).to.deep.include({ kind: 'run', sudo: false });
    const install = plan.kind === 'run' ? plan.commands[1]! : [];
    expect(install.slice(0, 2)).to.deep.equal(['sh', '-c']);
    expect(install.slice(3)).to.deep.equal([
      'no-service-starts',
      POLICY_RC_D,
      'haproxy.service prometheus.service',
      'env',
      'DEBIAN_FRONTEND=noninteractive',
      'apt-get',
      'install',
      '-y',
      '--no-install-recommends',
      'haproxy',
      'prometheus',
      'rsync',
    ]);
  });
});

describe('withoutServiceStarts(command, packages, policyPath)', function () {
  let dir: string;
  let policy: string;
  let seen: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kh-policy-rc-d-'));
    policy = path.join(dir, 'policy-rc.d');
    seen = path.join(dir, 'seen');
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  /** Runs the guard around a stand-in for apt-get that runs policy-rc.d as invoke-rc.d would, records its exit code, and exits `code`. */
  function runGuarded(code = 0): number | null {
    const standIn = ['sh', '-c', '"$0" prometheus start; echo $? >"$1"; exit "$2"', policy, seen, String(code)];
    const [command, ...args] = withoutServiceStarts(standIn, [], policy) as [string, ...string[]];
    return spawnSync(command, args, { stdio: 'inherit' }).status;
  }

  it('forbids every service start (exit 101) while the command runs, and leaves no policy-rc.d behind', function () {
    expect(runGuarded()).to.equal(0);
    expect(fs.readFileSync(seen, 'utf8')).to.equal('101\n');
    expect(fs.existsSync(policy)).to.equal(false);
    expect(fs.readdirSync(dir)).to.deep.equal(['seen']);
  });

  it('puts the host’s own policy-rc.d back afterwards, also when the install fails, and exits with its status', function () {
    fs.writeFileSync(policy, '#!/bin/sh\nexit 0\n');
    fs.chmodSync(policy, 0o750); // not through writeFileSync's mode, which the umask (077 in CI) narrows
    expect(runGuarded(3)).to.equal(3);
    expect(fs.readFileSync(seen, 'utf8')).to.equal('101\n');
    expect(fs.readFileSync(policy, 'utf8')).to.equal('#!/bin/sh\nexit 0\n');
    expect(fs.statSync(policy).mode & 0o777).to.equal(0o750);
    expect(fs.readdirSync(dir).sort()).to.deep.equal(['policy-rc.d', 'seen']);
  });

  it('keeps the host’s copy moved aside by a run killed halfway, and restores it', function () {
    fs.writeFileSync(`${policy}.before-koa-haproxy-mysql`, '#!/bin/sh\nexit 0\n', { mode: 0o755 });
    fs.writeFileSync(policy, '#!/bin/sh\nexit 101\n', { mode: 0o755 }); // the killed run's
    expect(runGuarded()).to.equal(0);
    expect(fs.readFileSync(policy, 'utf8')).to.equal('#!/bin/sh\nexit 0\n');
    expect(fs.readdirSync(dir).sort()).to.deep.equal(['policy-rc.d', 'seen']);
  });
});

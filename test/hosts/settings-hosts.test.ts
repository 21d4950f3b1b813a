// STACK_HOSTS and STACK_HOST in the stack's settings (cluster/settings.ts): the topology file read and
// resolved, its problems in the one all-at-once list, and what it implies for the database.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { loadStackSettings } from '../../cluster/settings';
import { EnvReader } from '../../server/env/reader';

const HOSTS = [
  { name: 'h1', address: '10.77.9.1' },
  { name: 'h2', address: '10.77.9.2' },
  { name: 'h3', address: '10.77.9.3' },
];

describe('loadStackSettings with STACK_HOSTS', () => {
  let dir: string;
  let file: string;
  const write = (body: unknown) => fs.writeFileSync(file, typeof body === 'string' ? body : JSON.stringify(body));
  const loadEnv = (env: Record<string, string>, local: string[] = []) => {
    const full = { STACK_DIR: dir, STACK_HOSTS: file, ...env };
    return loadStackSettings(full, new EnvReader(full), () => local);
  };

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kh-hosts-'));
    file = path.join(dir, 'hosts.json');
    write({ hosts: HOSTS });
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('without it: no hosts, and the settings of one machine', () => {
    const settings = loadStackSettings({ STACK_DIR: dir });
    expect(settings.hosts).to.equal(undefined);
    expect('hosts' in settings).to.equal(false);
    expect(settings.database.topology).to.equal('embedded');
  });

  it('reads the file, finds this host by STACK_HOST, and runs one Galera node per host', () => {
    const settings = loadEnv({ STACK_HOST: 'h2' });
    expect(settings.hosts).to.deep.equal({ hosts: HOSTS, peersPort: 10000, statusPort: 10001, thisHost: HOSTS[1] });
    expect(settings.database.topology).to.equal('galera');
    expect(settings.database.embedded).to.equal(false);
    expect(settings.galera.local?.nodes).to.equal(3);
    expect(settings.workers.ports).to.deep.equal([8000, 8001]);
  });

  it("finds this host by the machine's addresses when STACK_HOST is unset", () => {
    expect(loadEnv({}, ['127.0.0.1', '10.77.9.3', 'fe80::1']).hosts?.thisHost).to.deep.equal(HOSTS[2]);
    expect(() => loadEnv({}, ['127.0.0.1'])).to.throw(
      `  - STACK_HOSTS=${file}: No host's address is on this machine (its addresses: 127.0.0.1); set STACK_HOST to one of h1, h2, h3.`,
    );
  });

  it('five hosts: five nodes; workersPerHost gives consecutive worker ports', () => {
    write({
      hosts: [...HOSTS, { name: 'h4', address: '10.77.9.4' }, { name: 'h5', address: '10.77.9.5' }],
      workersPerHost: 3,
    });
    const settings = loadEnv({ STACK_HOST: 'h5' });
    expect(settings.galera.local?.nodes).to.equal(5);
    expect(settings.workers.ports).to.deep.equal([8000, 8001, 8002]);
    expect(loadEnv({ STACK_HOST: 'h5', WORKER_PORTS: '9000,9001,9002' }).workers.ports).to.deep.equal([
      9000, 9001, 9002,
    ]);
    expect(() => loadEnv({ STACK_HOST: 'h5', WORKER_PORTS: '9000' })).to.throw(
      'STACK_HOSTS has workersPerHost 3, but WORKER_PORTS lists 1 ports.',
    );
  });

  it('refuses MYSQL_HOST, GALERA_NODES and another DB_TOPOLOGY beside it, with every problem at once', () => {
    expect(() =>
      loadEnv({
        STACK_HOST: 'h1',
        MYSQL_HOST: 'db',
        GALERA_NODES: '5',
        DB_TOPOLOGY: 'embedded',
        HAPROXY_PORT: '0',
      }),
    ).to.throw(
      'Invalid stack configuration:\n' +
        `  - STACK_HOSTS=${file} runs the stack's own Galera cluster, one node per host: MYSQL_HOST cannot be set beside it.\n` +
        `  - STACK_HOSTS=${file} has one Galera node per host: GALERA_NODES cannot be set beside it.\n` +
        `  - STACK_HOSTS=${file} means DB_TOPOLOGY=galera (one node per host), not embedded.\n`,
    );
    expect(() => loadEnv({ STACK_HOST: 'h1', HAPROXY_PORT: '0' })).to.throw(
      /Invalid stack configuration:\n {2}- HAPROXY_PORT must be a whole number from 1 to 65535, got "0"\.$/,
    );
    expect(loadEnv({ STACK_HOST: 'h1', DB_TOPOLOGY: 'galera' }).database.topology).to.equal('galera');
  });

  it("lists the file's problems with the others", () => {
    write({ hosts: [HOSTS[0], { ...HOSTS[1], address: '127.0.0.2' }], extra: 1 });
    expect(() => loadEnv({ STACK_HOST: 'h1', HAPROXY_PORT: '0' })).to.throw(
      'Invalid stack configuration:\n' +
        `  - STACK_HOSTS=${file}: Unknown key "extra" (known: hosts, peersPort, statusPort, workersPerHost).\n` +
        `  - STACK_HOSTS=${file}: hosts[1].address must be an address the other hosts can reach, not 127.0.0.2.\n` +
        `  - STACK_HOSTS=${file}: "hosts" must list an odd number of at least 3 hosts (one Galera node each), got 2.\n` +
        '  - HAPROXY_PORT must be a whole number from 1 to 65535, got "0".',
    );
  });

  it('a missing file, a file not JSON, an unknown STACK_HOST, STACK_HOST alone', () => {
    expect(() => loadEnv({ STACK_HOSTS: path.join(dir, 'none.json') })).to.throw(
      /STACK_HOSTS=.*none\.json cannot be read \(ENOENT/,
    );
    write('{');
    expect(() => loadEnv({})).to.throw(`STACK_HOSTS=${file}: The file is not JSON (`);
    write({ hosts: HOSTS });
    expect(() => loadEnv({ STACK_HOST: 'h9' })).to.throw(
      `STACK_HOSTS=${file}: STACK_HOST must be one of the hosts (h1, h2, h3), got "h9".`,
    );
    expect(() => loadStackSettings({ STACK_DIR: dir, STACK_HOST: 'h1' })).to.throw(
      'STACK_HOST names a host of STACK_HOSTS: set STACK_HOSTS too.',
    );
  });

  it('a relative STACK_HOSTS is read from the project folder', () => {
    expect(() => loadEnv({ STACK_HOSTS: 'no-such-hosts.json' })).to.throw(/no-such-hosts\.json cannot be read/);
  });
});

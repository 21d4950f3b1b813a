// MySQL TLS between hosts (issue 19, item 4), the rendered parts: with STACK_HOSTS every mariadbd takes
// TLS clients with its node certificate (the host's address in its subjectAltName), the workers verify
// the stack's CA, and the app account gets a REQUIRE SSL login per host address with R__users.sql's
// grants. One machine: none of it. The lab (test/lab/tier.test.ts) shows the refusals and the logins.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { galeraMariadbdArgs } from '../../cluster/database/galera/args';
import { ensureGaleraCertificates } from '../../cluster/database/galera/certificates';
import { galeraLayoutOf } from '../../cluster/database/galera/env';
import { buildApps } from '../../cluster/ecosystem';
import { appGrants, hostAccountStatements } from '../../cluster/hosts/tls';
import { loadStackSettings } from '../../cluster/settings';
import { readWorkerConfig } from '../../server/config';

const PROVIDER = '/usr/lib/galera/libgalera_smm.so';
const HOSTS = [
  { name: 'h1', address: '10.77.9.1' },
  { name: 'h2', address: '10.77.9.2' },
  { name: 'h3', address: '10.77.9.3' },
];

describe('MySQL TLS between hosts (STACK_HOSTS)', function () {
  let dir: string;
  let file: string;
  const settingsOf = (host: string) =>
    loadStackSettings({ STACK_DIR: path.join(dir, host), STACK_HOSTS: file, STACK_HOST: host });

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kh-hosts-tls-'));
    file = path.join(dir, 'hosts.json');
    fs.writeFileSync(file, JSON.stringify({ hosts: HOSTS }));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('each node takes TLS clients with its own certificate and the stack CA; one machine does not', function () {
    const layout = galeraLayoutOf(settingsOf('h2'));
    const n2 = layout.nodes[1]!;
    const ssl = galeraMariadbdArgs(layout, n2, { kind: 'join' }, PROVIDER).filter((a) => a.startsWith('--ssl-'));
    expect(ssl).to.deep.equal([`--ssl-ca=${layout.tls.ca}`, `--ssl-cert=${n2.tls.cert}`, `--ssl-key=${n2.tls.key}`]);
    const local = galeraLayoutOf(loadStackSettings({ STACK_DIR: dir, DB_TOPOLOGY: 'galera' }));
    expect(
      galeraMariadbdArgs(local, local.nodes[1]!, { kind: 'join' }, PROVIDER).filter((a) => a.startsWith('--ssl-')),
    ).to.deep.equal([]);
  });

  it("a node certificate names its host's address beside loopback", async function () {
    this.timeout(30_000);
    const layout = galeraLayoutOf(settingsOf('h3'));
    await ensureGaleraCertificates(layout);
    const text = (cert: string) =>
      execFileSync('openssl', ['x509', '-noout', '-ext', 'subjectAltName', '-in', cert], { encoding: 'utf8' });
    expect(text(layout.nodes[2]!.tls.cert)).to.include('IP Address:127.0.0.1, DNS:localhost, IP Address:10.77.9.3');
    expect(text(layout.nodes[0]!.tls.cert)).to.include('IP Address:10.77.9.1');
  });

  it('the workers verify the stack CA over several hosts, and connect plain on one machine', function () {
    const settings = settingsOf('h1');
    const workers = buildApps(settings, {}).filter((app) => app.name.includes('-worker-'));
    expect(workers.map((app) => app.env?.DB_TLS_CA_FILE)).to.deep.equal([
      galeraLayoutOf(settings).tls.ca,
      galeraLayoutOf(settings).tls.ca,
    ]);
    const single = buildApps(loadStackSettings({ STACK_DIR: dir }), {}).find((app) => app.name === 'kh-worker-8000');
    expect(single?.env).to.not.have.property('DB_TLS_CA_FILE');
    const ca = path.join(dir, 'ca.pem');
    fs.writeFileSync(ca, 'PEM');
    const base = { DB_PASSWORD: 'x' };
    expect(readWorkerConfig({ ...base, DB_TLS_CA_FILE: ca }).config.db.tlsCa).to.equal('PEM');
    expect(readWorkerConfig(base).config.db).to.not.have.property('tlsCa');
    expect(readWorkerConfig({ ...base, DB_TLS_CA_FILE: path.join(dir, 'none.pem') }).problems).to.have.length(1);
  });

  it("the app account from each host's address requires TLS, with R__users.sql's grants", function () {
    expect(appGrants()).to.deep.equal([
      'GRANT SELECT, INSERT, UPDATE, DELETE ON test.todos TO :app_user@:host',
      'GRANT SELECT, INSERT, UPDATE, DELETE ON test.idempotency_keys TO :app_user@:host',
      'GRANT SELECT ON test.schema_migrations TO :app_user@:host',
    ]);
    const statements = hostAccountStatements(settingsOf('h1'));
    expect(statements).to.have.length(15);
    expect([...new Set(statements.map((s) => s.values.host))]).to.deep.equal(HOSTS.map((h) => h.address));
    expect(statements.filter((s) => /REQUIRE SSL$/.test(s.sql))).to.have.length(6);
    expect(hostAccountStatements(loadStackSettings({ STACK_DIR: dir }))).to.deep.equal([]);
  });
});

// ensureGaleraCertificates() with the real openssl: what it makes, with which permissions, that every
// node certificate verifies against the CA and no other, and that runners calling it at once (as pm2
// starts them) end up with one CA.
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { ensureGaleraCertificates } from '../../cluster/database/galera/certificates';
import { galeraLayout, portsFromBase, type GaleraLayout } from '../../cluster/database/galera/layout';

function modes(folder: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (dir: string) => {
    for (const name of fs.readdirSync(dir).sort()) {
      const file = path.join(dir, name);
      const stat = fs.statSync(file);
      out[path.relative(folder, file)] = (stat.mode & 0o777).toString(8);
      if (stat.isDirectory()) walk(file);
    }
  };
  walk(folder);
  return out;
}

/** `openssl verify` of `cert` against `ca`: its exit status and last line. */
function verify(ca: string, cert: string): string {
  const result = spawnSync('openssl', ['verify', '-CAfile', ca, '-purpose', 'sslserver', cert], { encoding: 'utf8' });
  return `${result.status}: ${(result.stdout + result.stderr).trim().split('\n').pop()}`;
}

function subject(cert: string): string {
  return execFileSync(
    'openssl',
    ['x509', '-noout', '-subject', '-ext', 'subjectAltName,extendedKeyUsage', '-in', cert],
    { encoding: 'utf8' },
  )
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean)
    .join(' | ');
}

describe('ensureGaleraCertificates(layout)', function () {
  this.timeout(60_000);
  let stateDir: string;
  let layout: GaleraLayout;

  beforeEach(function () {
    stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kh-galera-certs-'));
    layout = galeraLayout({ stateDir, ports: portsFromBase(3), stackName: 'certs' });
  });

  afterEach(function () {
    fs.rmSync(stateDir, { recursive: true, force: true });
  });

  it('makes a CA and one certificate per node under <stateDir>/secrets/galera, folders 0700 and files 0600', async function () {
    await ensureGaleraCertificates(layout);
    expect(modes(path.join(stateDir, 'secrets'))).to.deep.equal({
      galera: '700',
      'galera/ca-key.pem': '600',
      'galera/ca.pem': '600',
      'galera/n1': '700',
      'galera/n1/cert.pem': '600',
      'galera/n1/key.pem': '600',
      'galera/n2': '700',
      'galera/n2/cert.pem': '600',
      'galera/n2/key.pem': '600',
      'galera/n3': '700',
      'galera/n3/cert.pem': '600',
      'galera/n3/key.pem': '600',
    });
    for (const node of layout.nodes) expect(verify(layout.tls.ca, node.tls.cert)).to.equal(`0: ${node.tls.cert}: OK`);
    expect(subject(layout.nodes[1]!.tls.cert)).to.equal(
      'subject=CN = n2.certs-galera | X509v3 Extended Key Usage: | TLS Web Server Authentication, TLS Web Client Authentication | ' +
        'X509v3 Subject Alternative Name: | IP Address:127.0.0.1, DNS:localhost',
    );
  });

  it('keeps what exists on the next call, and adds a certificate signed by the same CA when GALERA_NODES grows', async function () {
    await ensureGaleraCertificates(layout);
    const before = fs.readFileSync(layout.nodes[0]!.tls.cert, 'utf8');
    const ca = fs.readFileSync(layout.tls.ca, 'utf8');
    const grown = galeraLayout({ stateDir, ports: portsFromBase(5), stackName: 'certs' });
    await ensureGaleraCertificates(grown);
    expect([
      fs.readFileSync(layout.nodes[0]!.tls.cert, 'utf8') === before,
      fs.readFileSync(layout.tls.ca, 'utf8') === ca,
    ]).to.deep.equal([true, true]);
    expect(verify(grown.tls.ca, grown.nodes[4]!.tls.cert)).to.equal(`0: ${grown.nodes[4]!.tls.cert}: OK`);
  });

  it('three callers at once (three node runners) leave one CA that signed every node certificate, and no staging folder', async function () {
    await Promise.all([1, 2, 3].map(() => ensureGaleraCertificates(layout)));
    expect(fs.readdirSync(layout.tls.dir).sort()).to.deep.equal(['ca-key.pem', 'ca.pem', 'n1', 'n2', 'n3']);
    expect(fs.readdirSync(path.dirname(layout.tls.dir))).to.deep.equal(['galera']);
    for (const node of layout.nodes) expect(verify(layout.tls.ca, node.tls.cert)).to.equal(`0: ${node.tls.cert}: OK`);
  });

  it("a certificate of another stack's CA does not verify against this one", async function () {
    const other = galeraLayout({ stateDir: path.join(stateDir, 'other'), ports: portsFromBase(3), stackName: 'other' });
    await Promise.all([ensureGaleraCertificates(layout), ensureGaleraCertificates(other)]);
    expect(verify(layout.tls.ca, other.nodes[0]!.tls.cert)).to.match(/^2: .*verification failed/);
  });

  it('says how to recover when a node folder lost its files', async function () {
    await ensureGaleraCertificates(layout);
    fs.rmSync(layout.nodes[2]!.tls.cert);
    let message = '';
    await ensureGaleraCertificates(layout).catch((error: Error) => (message = error.message));
    expect(message).to.equal(
      `${layout.nodes[2]!.tls.dir} has no cert.pem or key.pem: remove the folder to make n3 a new certificate.`,
    );
  });
});

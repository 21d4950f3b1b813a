// The local Galera cluster's own certificate authority and one certificate per node, made with openssl
// on first use under <stateDir>/secrets/galera/ (folders 0700, files 0600, like the passwords beside it).
// Group communication and IST (Galera's socket.ssl_*) and SST (stunnel under MariaDB's rsync SST) run
// over TLS with these, and each side verifies the other's certificate against the CA: a process that
// cannot read this folder (any other local user) cannot join the cluster nor receive a state transfer.
//
// Creation is atomic, as for the passwords (cluster/secrets.ts): everything is made in a private
// staging folder and renamed into place, which fails when another node runner (pm2 starts all of them
// at once) got there first; then its files are the ones used.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { systemBinary } from '../../system-packages';
import type { GaleraLayout, GaleraNode } from './layout';

/** Ten years: Galera cannot swap certificates without restarting every node, so they must outlast the stack. */
const VALID_DAYS = 3650;

// openssl's own configuration: only what `req` needs, so the system's openssl.cnf (its default
// extensions) changes nothing. Node certificates serve both ends of a connection (Galera and stunnel
// are each client and server); the address is the one every local node listens on.
const OPENSSL_CONFIG = `[req]
distinguished_name = dn
prompt = no
[dn]
[ca]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
[node]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,keyAgreement
extendedKeyUsage = serverAuth,clientAuth
subjectAltName = IP:127.0.0.1,DNS:localhost
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
`;

// P-256 keys: quick to make, and every TLS stack involved (OpenSSL under Galera, stunnel) takes them.
const KEY_ARGS = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-noenc'];

// Synchronous (a few hundred ms, once per certificate): HAProxy's files are rendered synchronously and
// over several hosts they name this host's certificate (ensureGaleraCertificatesSync).
function openssl(args: string[]): void {
  try {
    execFileSync(systemBinary('openssl'), args, {
      timeout: 60_000,
      stdio: ['ignore', 'pipe', 'pipe'],
      encoding: 'utf8',
    });
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr ?? '';
    throw new Error(`openssl ${args[0]} failed: ${(error as Error).message.split('\n')[0]}\n${stderr}`.trim(), {
      cause: error,
    });
  }
}

function exists(file: string): boolean {
  return existsSync(file);
}

function stagingName(target: string): string {
  return `${target}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
}

/** Renames `staging` to `target` unless `target` exists by then (another runner won): then drops it. */
function publish(staging: string, target: string): void {
  try {
    renameSync(staging, target);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'EEXIST' && code !== 'ENOTEMPTY') throw error;
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}

/** A subject name part: openssl's -subj syntax gives `/`, `=` and `+` meaning, and STACK_NAME is free text. */
function subjectPart(text: string): string {
  return text.replace(/[^A-Za-z0-9._-]/g, '_');
}

/**
 * The openssl config; `address`: a node on its own host (STACK_HOSTS) also names its host's address, so
 * an IP-verifying client (`mariadb --ssl-verify-server-cert -h <host>`) accepts it. Galera's and
 * stunnel's peer checks verify the chain only and need no name.
 */
export function opensslConfig(address?: string): string {
  if (address === undefined) return OPENSSL_CONFIG;
  return OPENSSL_CONFIG.replace(
    'subjectAltName = IP:127.0.0.1,DNS:localhost',
    `subjectAltName = IP:127.0.0.1,DNS:localhost,IP:${address}`,
  );
}

function writeConfig(folder: string, address?: string): string {
  const file = path.join(folder, 'openssl.cnf');
  writeFileSync(file, opensslConfig(address), { mode: 0o600 });
  return file;
}

/** A new CA (ca.pem, ca-key.pem) in `folder`. */
function makeCa(folder: string, clusterName: string): void {
  const config = writeConfig(folder);
  const files = [path.join(folder, 'ca-key.pem'), path.join(folder, 'ca.pem')] as const;
  openssl([
    'req',
    '-x509',
    '-new',
    ...KEY_ARGS,
    '-config',
    config,
    '-extensions',
    'ca',
    '-days',
    String(VALID_DAYS),
    '-subj',
    `/CN=${subjectPart(clusterName)} Galera CA`,
    '-keyout',
    files[0],
    '-out',
    files[1],
  ]);
  for (const file of files) chmodSync(file, 0o600);
  rmSync(config);
}

/** A new key and certificate for `node`, signed by the CA in `caFolder`, into `folder` (cert.pem, key.pem). */
function makeNodeCertificate(folder: string, caFolder: string, clusterName: string, node: GaleraNode): void {
  mkdirSync(folder, { mode: 0o700 });
  const config = writeConfig(folder, node.address);
  const files = [path.join(folder, 'key.pem'), path.join(folder, 'cert.pem')] as const;
  openssl([
    'req',
    '-x509',
    '-new',
    ...KEY_ARGS,
    '-config',
    config,
    '-extensions',
    'node',
    '-days',
    String(VALID_DAYS),
    '-CA',
    path.join(caFolder, 'ca.pem'),
    '-CAkey',
    path.join(caFolder, 'ca-key.pem'),
    '-subj',
    `/CN=${node.name}.${subjectPart(clusterName)}`,
    '-keyout',
    files[0],
    '-out',
    files[1],
  ]);
  for (const file of files) chmodSync(file, 0o600);
  rmSync(config);
}

/**
 * Makes what is missing of the cluster's CA and node certificates (layout.tls, node.tls): on the first
 * start all of it; when GALERA_NODES grows, the new nodes' certificates, signed by the same CA. Safe to
 * call from every node runner at once.
 */
export function ensureGaleraCertificates(layout: GaleraLayout): Promise<void> {
  try {
    ensureGaleraCertificatesSync(layout);
    return Promise.resolve();
  } catch (error) {
    return Promise.reject(error as Error);
  }
}

/** ensureGaleraCertificates, synchronously (HAProxy's files are rendered so, and name the certificates). */
export function ensureGaleraCertificatesSync(layout: GaleraLayout): void {
  const { dir } = layout.tls;
  mkdirSync(path.dirname(dir), { recursive: true, mode: 0o700 });
  if (!exists(dir)) {
    const staging = stagingName(dir);
    try {
      mkdirSync(staging, { mode: 0o700 });
      makeCa(staging, layout.clusterName);
      for (const node of layout.nodes) {
        makeNodeCertificate(path.join(staging, path.basename(node.tls.dir)), staging, layout.clusterName, node);
      }
    } catch (error) {
      rmSync(staging, { recursive: true, force: true });
      throw error;
    }
    publish(staging, dir);
  }
  if (!exists(layout.tls.ca) || !exists(layout.tls.caKey)) {
    throw new Error(
      `${dir} has no ca.pem or ca-key.pem: remove the folder to make a new CA (then every node needs its new certificate: restart them all).`,
    );
  }
  for (const node of layout.nodes) {
    if (exists(node.tls.dir)) {
      if (exists(node.tls.cert) && exists(node.tls.key)) continue;
      throw new Error(
        `${node.tls.dir} has no cert.pem or key.pem: remove the folder to make ${node.name} a new certificate.`,
      );
    }
    const staging = stagingName(node.tls.dir);
    try {
      makeNodeCertificate(staging, dir, layout.clusterName, node);
    } catch (error) {
      rmSync(staging, { recursive: true, force: true });
      throw error;
    }
    publish(staging, node.tls.dir);
  }
}

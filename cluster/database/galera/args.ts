// The exact mariadbd command line of a Galera node: the embedded server's (cluster/database/embedded.ts,
// called, not copied) followed by the wsrep settings. mariadbd keeps the last value of an option given
// twice, so what follows the embedded argv overrides it (the buffer pool). The one option file is the
// node's [sst] section (renderSstOptionFile), which only the SST script reads: it reads options from
// files alone, never from mariadbd's command line.
//
// Every Galera connection is TLS with the stack's own CA (certificates.ts), verified at both ends:
// group communication and IST by Galera (socket.ssl_*: OpenSSL with verify_peer and
// fail_if_no_peer_cert, so a peer without a certificate of this CA is dropped in the handshake), SST by
// the stunnel that MariaDB's rsync SST runs on each side (ssl-mode VERIFY_CA: stunnel's verifyChain,
// which requires the peer's certificate too).
import { existsSync } from 'node:fs';
import path from 'node:path';
import { mariadbdArgs } from '../embedded';
import { clusterAddress, nodeHostPort, type GaleraLayout, type GaleraNode } from './layout';

/** Debian's galera-4 ships /usr/lib/libgalera_smm.so with this symlink beside MariaDB's expectations. */
export const GALERA_PROVIDER_PATHS = [
  '/usr/lib/galera/libgalera_smm.so',
  '/usr/lib/libgalera_smm.so',
  '/usr/lib64/galera-4/libgalera_smm.so',
];

/** The first Galera provider library present; throws naming the Debian package when none is. */
export function galeraProvider(exists: (file: string) => boolean = existsSync): string {
  const found = GALERA_PROVIDER_PATHS.find((file) => exists(file));
  if (found === undefined) {
    throw new Error(
      `No Galera provider library at ${GALERA_PROVIDER_PATHS.join(', ')}; install the Debian package galera-4.`,
    );
  }
  return found;
}

/** How a node starts: the first of a new (or re-bootstrapped) cluster, or joining one that runs. */
/** startPosition: `uuid:seqno` recovered with --wsrep-recover (a crashed node: rejoins by IST). */
/** sstDonor: the node to take this start's state transfer from (coordinate.ts preferredDonor). */
export type StartMode = { kind: 'bootstrap' | 'join'; startPosition?: string; sstDonor?: string };

/** Holds wsrep_sst_rsync_as_root (see there); on mariadbd's PATH via galeraNodeEnv(). */
export const SST_SCRIPTS_DIR = path.join(__dirname, 'sst');

/**
 * `rsync` (MariaDB's script, needing nothing beyond mariadb-server's dependencies; mariadb-backup is not
 * installed), or as root `rsync_as_root`: the same script, whose receiving rsync daemon would otherwise
 * drop to `nobody` and fail to write the datadir.
 */
export function sstMethod(asRoot: boolean = process.geteuid?.() === 0): string {
  return asRoot ? 'rsync_as_root' : 'rsync';
}

/** mariadbd's environment: the SST scripts folder on PATH (mariadbd looks up wsrep_sst_<method> there). */
export function galeraNodeEnv(base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  return { ...base, PATH: [SST_SCRIPTS_DIR, base.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin'].join(path.delimiter) };
}

// Galera's ring buffer of recent write sets, which a donor serves IST from: small for a laptop, ample
// for the few minutes a restarted node is away under this stack's load.
const GCACHE_SIZE = '32M';

/** Galera splits wsrep_provider_options at `;`, so no path in it may hold one. */
function providerValue(file: string): string {
  if (file.includes(';')) throw new Error(`Galera cannot take a path with ";" in wsrep_provider_options: ${file}`);
  return file;
}

/** wsrep_provider_options: the node's own listeners, each on its own port (see layout.ts) of its host's address, and its TLS files. */
export function providerOptions(layout: GaleraLayout, node: GaleraNode): string {
  return [
    `gmcast.listen_addr=tcp://${nodeHostPort(node, node.ports.group)}`,
    `ist.recv_addr=${nodeHostPort(node, node.ports.ist)}`,
    `gcache.size=${GCACHE_SIZE}`,
    'socket.ssl=YES',
    `socket.ssl_key=${providerValue(node.tls.key)}`,
    `socket.ssl_cert=${providerValue(node.tls.cert)}`,
    `socket.ssl_ca=${providerValue(layout.tls.ca)}`,
  ].join(';');
}

/**
 * The node's option file (mariadbd --defaults-file): the SST script's TLS settings. tkey/tcert/tca are
 * the names MariaDB's rsync SST reads from [sst]; VERIFY_CA rather than VERIFY_IDENTITY, whose stunnel
 * setting (verifyPeer) accepts only a peer certificate listed in the CA file itself.
 */
export function renderSstOptionFile(layout: GaleraLayout, node: GaleraNode): string {
  return [
    `# ${node.name} of ${layout.clusterName}, written at each start (cluster/database/galera/args.ts).`,
    '[sst]',
    `tkey = ${node.tls.key}`,
    `tcert = ${node.tls.cert}`,
    `tca = ${layout.tls.ca}`,
    'ssl-mode = VERIFY_CA',
    '',
  ].join('\n');
}

/**
 * wsrep_sst_donor of `node`: the last other node, then a trailing comma (any node when that one cannot).
 * HAProxy writes to the first node that is up, in layout order (haproxy-backend.ts), so the last is the
 * least likely writer; a donor is Desynced while it sends (the agent then reports it not Synced) and, for
 * an SST, read-locked, which on the writer stalls every write until the transfer ends (issue 15: an
 * 11 s stall of 503 pool_timeout on the new writer when the killed writer rejoined). One name, not a
 * list: for an IST Galera picks among every node listed the one whose gcache reaches furthest back,
 * whatever the order (seen here: 'n1,n2,' selected n2).
 */
export function sstDonors(layout: GaleraLayout, node: GaleraNode): string {
  const others = layout.nodes.filter((other) => other !== node);
  return `${others.at(-1)?.name ?? ''},`;
}

/** The Galera options alone (for tests and the design note); galeraMariadbdArgs() is what runs. */
export function wsrepArgs(layout: GaleraLayout, node: GaleraNode, provider: string): string[] {
  return [
    '--wsrep-on=ON',
    `--wsrep-provider=${provider}`,
    `--wsrep-cluster-name=${layout.clusterName}`,
    `--wsrep-cluster-address=${clusterAddress(layout)}`,
    `--wsrep-node-name=${node.name}`,
    `--wsrep-node-address=${nodeHostPort(node, node.ports.group)}`,
    // What wsrep_incoming_addresses reports for this node: where clients reach it.
    `--wsrep-node-incoming-address=${nodeHostPort(node, node.ports.client)}`,
    `--wsrep-provider-options=${providerOptions(layout, node)}`,
    // The donor is read-locked for the copy, which the agent reports as not Synced.
    `--wsrep-sst-method=${sstMethod()}`,
    `--wsrep-sst-receive-address=${nodeHostPort(node, node.ports.sst)}`,
    // State transfers (SST and IST) from the node least likely to take the writes (see sstDonors).
    `--wsrep-sst-donor=${sstDonors(layout, node)}`,
    // Galera replicates row images only, and interleaved auto-increment locks let appliers run in parallel.
    '--binlog-format=ROW',
    '--default-storage-engine=InnoDB',
    '--innodb-autoinc-lock-mode=2',
    // Reads wait until this node has applied everything committed cluster-wide before they started
    // (read-your-writes across nodes, ~0.2 ms per read here).
    '--wsrep-sync-wait=1',
    '--innodb-buffer-pool-size=64M',
    // On its own host (STACK_HOSTS): MySQL clients of the other hosts' proxies too, beside loopback
    // (after the embedded server's --bind-address=127.0.0.1: mariadbd keeps the last value).
    ...(node.address === undefined ? [] : [`--bind-address=127.0.0.1,${node.address}`]),
    // There, MySQL clients of other hosts (through their proxies) speak TLS with the node's certificate
    // (the stack's CA, IP:<host address> in its subjectAltName); the app account requires it from a
    // host address (cluster/hosts/tls.ts).
    ...(node.address === undefined
      ? []
      : [`--ssl-ca=${layout.tls.ca}`, `--ssl-cert=${node.tls.cert}`, `--ssl-key=${node.tls.key}`]),
  ];
}

/** Full argv (after the binary) of a foreground Galera node. */
export function galeraMariadbdArgs(
  layout: GaleraLayout,
  node: GaleraNode,
  mode: StartMode,
  provider = galeraProvider(),
): string[] {
  const base = mariadbdArgs({
    datadir: node.datadir,
    port: node.ports.client,
    socket: node.socket,
    pidFile: node.pidFile,
    logFile: node.logFile,
  });
  const start = [
    ...(mode.kind === 'bootstrap' ? ['--wsrep-new-cluster'] : []),
    ...(mode.startPosition !== undefined ? [`--wsrep-start-position=${mode.startPosition}`] : []),
    // After the static preference in wsrepArgs: mariadbd keeps the last value.
    ...(mode.sstDonor !== undefined ? [`--wsrep-sst-donor=${mode.sstDonor},`] : []),
  ];
  if (base[0] !== '--no-defaults')
    throw new Error(`The embedded server's argv no longer opens with --no-defaults: ${base[0]}`);
  // In place of --no-defaults (both must come first): mariadbd hands the SST script this file.
  return [`--defaults-file=${node.optionFile}`, ...base.slice(1), ...wsrepArgs(layout, node, provider), ...start];
}

/**
 * argv of `mariadbd --wsrep-recover` on a stopped node: the node's own settings (so InnoDB opens its
 * datadir the same way), logging to `logFile`, which then holds "WSREP: Recovered position: uuid:seqno".
 * It exits once InnoDB has recovered; no port is opened.
 */
export function wsrepRecoverArgs(
  layout: GaleraLayout,
  node: GaleraNode,
  logFile: string,
  provider = galeraProvider(),
): string[] {
  // No state transfer runs, so no option file: recovery works before the first start has written one.
  const [, ...rest] = galeraMariadbdArgs(layout, node, { kind: 'join' }, provider);
  return ['--no-defaults', ...rest, '--wsrep-recover', `--log-error=${logFile}`];
}

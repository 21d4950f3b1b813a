// The Debian packages the stack runs (HAProxy, MariaDB, Prometheus, the MySQL exporter, ss, and for a
// Galera topology the provider and what SST runs), how to tell whether they are installed, and which
// command line installs the missing ones. A package counts as installed when dpkg says so AND every
// binary the stack runs from it is there: a binary alone is not enough (mariadb-server-core provides
// mariadbd, but the SST scripts are mariadb-server's, and the Galera provider is a library of galera-4).
// Pure apart from systemProbe(); cluster/cli/ensure-system-packages.ts runs the plan.
import { spawnSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import path from 'node:path';

/** The database topologies (cluster/settings.ts DbTopology), named here so the installer needs no settings. */
export type PackageTopology = 'embedded' | 'galera' | 'external';
export const ALL_TOPOLOGIES: readonly PackageTopology[] = ['embedded', 'galera', 'external'];

export interface SystemPackage {
  name: string;
  /** Every binary the stack runs from this package; one missing means the package is missing. */
  binaries: string[];
  /** Needed only by these topologies; absent: by every one. */
  topologies?: readonly PackageTopology[];
  /** Needed only for the Prometheus profile (MONITORING=1), or by the tests. */
  monitoring?: boolean;
  /**
   * The systemd unit Debian's package enables and starts on install. The installer keeps it from
   * starting (policy-rc.d) and disables it: the stack runs its own process of it, on its own ports.
   */
  unit?: string;
}

/** DB_TOPOLOGY=galera only. Add a package here (one line) when a Galera feature starts running it. */
export const GALERA_PACKAGES: readonly SystemPackage[] = [
  // The wsrep provider, /usr/lib/galera/libgalera_smm.so (cluster/database/galera/args.ts): a library,
  // so only dpkg can tell it is installed.
  { name: 'galera-4', binaries: [] },
  // SST by rsync (wsrep_sst_rsync, from mariadb-server, runs rsync on both ends).
  { name: 'rsync', binaries: ['rsync'] },
  // MariaDB's rsync SST runs its transfer through stunnel for TLS (galera/certificates.ts).
  { name: 'stunnel4', binaries: ['stunnel'] },
].map((p) => ({ ...p, topologies: ['galera'] as const }));

export const SYSTEM_PACKAGES: readonly SystemPackage[] = [
  { name: 'haproxy', binaries: ['haproxy'], unit: 'haproxy.service' },
  // mariadb-server, not only mariadb-server-core: the SST scripts (wsrep_sst_rsync, wsrep_sst_common)
  // are in it, and its dependencies bring galera-4 and rsync.
  {
    name: 'mariadb-server',
    binaries: ['mariadbd', 'mariadb-install-db', 'wsrep_sst_rsync', 'wsrep_sst_common'],
    unit: 'mariadb.service',
  },
  { name: 'mariadb-client', binaries: ['mariadb'] },
  // Installed without its Recommends (prometheus-node-exporter, which would listen on :9100).
  { name: 'prometheus', binaries: ['prometheus', 'promtool'], monitoring: true, unit: 'prometheus.service' },
  {
    name: 'prometheus-mysqld-exporter',
    binaries: ['prometheus-mysqld-exporter'],
    monitoring: true,
    unit: 'prometheus-mysqld-exporter.service',
  },
  // `ss`: npm start names the process holding a port it needs (cluster/port-check.ts); minimal images lack it.
  { name: 'iproute2', binaries: ['ss'] },
  ...GALERA_PACKAGES,
];

/** The argument by which the test script asks for every package (`ensure-system-packages.ts --for-tests`). */
export const FOR_TESTS_FLAG = '--for-tests';

/**
 * Whether the packages are for the test suite, which runs every topology and the Prometheus profile
 * whatever the environment says: `--for-tests`, or (until the test script passes it) a run as
 * `npm test`'s own lifecycle step.
 */
export function installsForTests(env: NodeJS.ProcessEnv = process.env, argv: readonly string[] = []): boolean {
  return argv.includes(FOR_TESTS_FLAG) || env.npm_lifecycle_event === 'test';
}

/**
 * The topologies to install for: every one for the tests (its Galera tests run whatever DB_TOPOLOGY
 * says), else the one DB_TOPOLOGY (or MYSQL_HOST) chooses, as cluster/settings.ts reads it. A value
 * settings will refuse installs for every topology: npm start then reports the setting, not a package.
 */
export function topologiesToInstall(
  env: NodeJS.ProcessEnv = process.env,
  argv: readonly string[] = [],
): readonly PackageTopology[] {
  if (installsForTests(env, argv)) return ALL_TOPOLOGIES;
  const raw = (env.DB_TOPOLOGY ?? '').trim();
  if (raw === '') return [env.MYSQL_HOST ? 'external' : 'embedded'];
  return (ALL_TOPOLOGIES as readonly string[]).includes(raw) ? [raw as PackageTopology] : ALL_TOPOLOGIES;
}

/**
 * Whether to install Prometheus and mysqld-exporter: for the tests, or when MONITORING asks for the
 * Prometheus profile (`1` or `true`, as cluster/settings.ts reads it; a value it refuses installs
 * nothing extra: npm start then reports the setting).
 */
export function monitoringToInstall(env: NodeJS.ProcessEnv = process.env, argv: readonly string[] = []): boolean {
  if (installsForTests(env, argv)) return true;
  const raw = (env.MONITORING ?? '').trim().toLowerCase();
  return raw === '1' || raw === 'true';
}

/** What to install for: the database topologies, and whether the Prometheus profile. */
export interface InstallRequest {
  topologies: readonly PackageTopology[];
  monitoring: boolean;
}

/** What this run installs for, from the environment and the installer's arguments. */
export function installRequest(env: NodeJS.ProcessEnv = process.env, argv: readonly string[] = []): InstallRequest {
  return { topologies: topologiesToInstall(env, argv), monitoring: monitoringToInstall(env, argv) };
}

/** The packages a request needs, in list order (installed or not). */
export function packagesFor(
  request: InstallRequest,
  packages: readonly SystemPackage[] = SYSTEM_PACKAGES,
): SystemPackage[] {
  return packages.filter(
    (p) =>
      (p.topologies === undefined || p.topologies.some((t) => request.topologies.includes(t))) &&
      (p.monitoring !== true || request.monitoring),
  );
}

// Debian puts daemons in /usr/sbin, which a non-root user's PATH usually lacks.
const SYSTEM_DIRS = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'];

function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The absolute path of a binary from PATH or the system folders, or undefined when none is found. */
export function findSystemBinary(
  name: string,
  pathEnv: string = process.env.PATH ?? '',
  exists: (file: string) => boolean = isExecutable,
): string | undefined {
  const dirs = [...pathEnv.split(path.delimiter).filter((dir) => path.isAbsolute(dir)), ...SYSTEM_DIRS];
  return dirs.map((dir) => path.join(dir, name)).find((file) => exists(file));
}

/** The absolute path of a binary the stack needs; throws a message that says how to install it. */
export function systemBinary(name: string): string {
  const found = findSystemBinary(name);
  if (found !== undefined) return found;
  const pkg = SYSTEM_PACKAGES.find((p) => p.binaries.includes(name));
  const from = pkg ? ` (Debian package ${pkg.name})` : '';
  throw new Error(
    `${name}${from} was not found on PATH or in ${SYSTEM_DIRS.join(', ')}; run \`npx tsx cluster/cli/ensure-system-packages.ts\` to install it.`,
  );
}

/** What the machine has: binaries on disk, and dpkg's view of packages. */
export interface PackageProbe {
  find(binary: string): string | undefined;
  /**
   * Each package's dpkg status ("installed", "config-files", ...; absent when dpkg knows none), or
   * undefined where there is no dpkg (not Debian): then the binaries alone decide.
   */
  statuses(packages: string[]): Map<string, string> | undefined;
}

/** dpkg-query's status of each package; undefined when dpkg-query cannot run. */
export function dpkgStatuses(packages: string[]): Map<string, string> | undefined {
  const dpkgQuery = findSystemBinary('dpkg-query');
  if (dpkgQuery === undefined) return undefined;
  // Exits 1 and says so on stderr for a package dpkg never heard of; the others are still listed.
  const result = spawnSync(dpkgQuery, ['-W', '-f=${Package}\t${db:Status-Status}\n', ...packages], {
    encoding: 'utf8',
  });
  if (result.error !== undefined || typeof result.stdout !== 'string') return undefined;
  return parseDpkgStatuses(result.stdout);
}

/** dpkg-query's version of each installed package (for the installer's report); empty without dpkg. */
export function dpkgVersions(packages: string[]): Map<string, string> {
  const dpkgQuery = findSystemBinary('dpkg-query');
  if (dpkgQuery === undefined || packages.length === 0) return new Map();
  const result = spawnSync(dpkgQuery, ['-W', '-f=${Package}\t${Version}\n', ...packages], { encoding: 'utf8' });
  return typeof result.stdout === 'string' ? parseDpkgStatuses(result.stdout) : new Map();
}

/** `name<TAB>status` lines (or `name<TAB>version`); a multi-arch name (`galera-4:amd64`) counts under its package name. */
export function parseDpkgStatuses(output: string): Map<string, string> {
  const statuses = new Map<string, string>();
  for (const line of output.split('\n')) {
    const [name, status] = line.split('\t');
    if (name && status) statuses.set(name.split(':')[0]!, status.trim());
  }
  return statuses;
}

export function systemProbe(): PackageProbe {
  return { find: (binary) => findSystemBinary(binary), statuses: dpkgStatuses };
}

/**
 * The packages a request needs that are not installed (dpkg) or lack a binary, in list order. A bare
 * list of topologies asks for the Prometheus profile too (the whole list for those topologies).
 */
export function missingPackages(
  request: InstallRequest | readonly PackageTopology[] = installRequest(),
  probe: PackageProbe = systemProbe(),
  packages: readonly SystemPackage[] = SYSTEM_PACKAGES,
): string[] {
  const wanted = Array.isArray(request) ? { topologies: request, monitoring: true } : (request as InstallRequest);
  const needed = packagesFor(wanted, packages);
  const statuses = probe.statuses(needed.map((p) => p.name));
  return needed
    .filter(
      (p) =>
        (statuses !== undefined && statuses.get(p.name) !== 'installed') ||
        p.binaries.some((binary) => probe.find(binary) === undefined),
    )
    .map((p) => p.name);
}

export interface InstallContext {
  /** Effective uid; 0 installs directly. */
  euid: number;
  hasAptGet: boolean;
  hasSudo: boolean;
}

export type InstallPlan =
  | { kind: 'nothing' }
  /** Run these argv in order; `sudo` says whether they go through `sudo -n`. */
  | { kind: 'run'; commands: string[][]; sudo: boolean }
  /** Nothing here can install; print this line for a human to run. */
  | { kind: 'manual'; line: string };

function installArgv(packages: string[]): string[] {
  return ['apt-get', 'install', '-y', '--no-install-recommends', ...packages];
}

/** The exact line a person with sudo rights can paste. */
export function manualInstallLine(packages: string[]): string {
  return `sudo apt-get update && sudo DEBIAN_FRONTEND=noninteractive ${installArgv(packages).join(' ')}`;
}

/** Where Debian's invoke-rc.d and deb-systemd-invoke ask whether a package's script may start a service. */
export const POLICY_RC_D = '/usr/sbin/policy-rc.d';

/**
 * `sh -c` this with: the policy-rc.d path, the units to disable (space-separated), then the install
 * command. While the install runs, policy-rc.d exits 101 ("action forbidden"), so no package starts its
 * service (Debian's Prometheus would take :9090, its mysqld-exporter :9104, its MariaDB :3306; the
 * stack runs its own). A policy-rc.d the host had is moved aside and put back on any exit; one already
 * moved aside by a run killed halfway is the host's, so it is kept and the policy found in place (that
 * run's) is replaced. After a good install the packages' units that Debian enabled are disabled, so
 * they do not start at the next boot either. The install's exit status is the script's.
 */
export const NO_SERVICE_STARTS_SCRIPT = [
  'policy=$1 units=$2',
  'shift 2',
  'saved="$policy.before-koa-haproxy-mysql"',
  'if [ -e "$policy" ] && [ ! -e "$saved" ]; then mv "$policy" "$saved" || exit 1; fi',
  'restore() { rm -f "$policy"; if [ -e "$saved" ]; then mv "$saved" "$policy"; fi; }',
  'trap restore EXIT',
  "trap 'exit 129' HUP",
  "trap 'exit 130' INT",
  "trap 'exit 143' TERM",
  'printf "#!/bin/sh\\n# Written by the koa-haproxy-mysql installer while apt-get runs: no service starts.\\nexit 101\\n" >"$policy" || exit 1',
  'chmod 755 "$policy" || exit 1',
  '"$@" || exit $?',
  'if command -v systemctl >/dev/null 2>&1; then',
  '  for unit in $units; do',
  '    if systemctl is-enabled --quiet "$unit" 2>/dev/null; then',
  '      systemctl disable --quiet "$unit" && echo "Disabled $unit: the stack runs its own, on its own ports."',
  '    fi',
  '  done',
  'fi',
].join('\n');

/** `command`, run with no service starting on install, then the units of `packages` disabled. */
export function withoutServiceStarts(
  command: string[],
  packages: string[],
  policyPath: string = POLICY_RC_D,
  known: readonly SystemPackage[] = SYSTEM_PACKAGES,
): string[] {
  const units = known.filter((p) => packages.includes(p.name) && p.unit !== undefined).map((p) => p.unit);
  return ['sh', '-c', NO_SERVICE_STARTS_SCRIPT, 'no-service-starts', policyPath, units.join(' '), ...command];
}

export function installPlan(packages: string[], context: InstallContext): InstallPlan {
  if (packages.length === 0) return { kind: 'nothing' };
  if (!context.hasAptGet || (context.euid !== 0 && !context.hasSudo)) {
    return { kind: 'manual', line: manualInstallLine(packages) };
  }
  // DEBIAN_FRONTEND keeps debconf from asking questions; `env` passes it through sudo, which
  // otherwise resets the environment. `sudo -n` fails instead of waiting for a password.
  const install = withoutServiceStarts(['env', 'DEBIAN_FRONTEND=noninteractive', ...installArgv(packages)], packages);
  const update = ['apt-get', 'update'];
  if (context.euid === 0) return { kind: 'run', commands: [update, install], sudo: false };
  return {
    kind: 'run',
    commands: [
      ['sudo', '-n', ...update],
      ['sudo', '-n', ...install],
    ],
    sudo: true,
  };
}

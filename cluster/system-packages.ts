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
  { name: 'haproxy', binaries: ['haproxy'] },
  // mariadb-server, not only mariadb-server-core: the SST scripts (wsrep_sst_rsync, wsrep_sst_common)
  // are in it, and its dependencies bring galera-4 and rsync.
  { name: 'mariadb-server', binaries: ['mariadbd', 'mariadb-install-db', 'wsrep_sst_rsync', 'wsrep_sst_common'] },
  { name: 'mariadb-client', binaries: ['mariadb'] },
  { name: 'prometheus', binaries: ['prometheus', 'promtool'] },
  { name: 'prometheus-mysqld-exporter', binaries: ['prometheus-mysqld-exporter'] },
  // `ss`: npm start names the process holding a port it needs (cluster/port-check.ts); minimal images lack it.
  { name: 'iproute2', binaries: ['ss'] },
  ...GALERA_PACKAGES,
];

/**
 * The topologies to install for: every one under `npm test` (its Galera tests run whatever DB_TOPOLOGY
 * says), else the one DB_TOPOLOGY (or MYSQL_HOST) chooses, as cluster/settings.ts reads it. A value
 * settings will refuse installs for every topology: npm start then reports the setting, not a package.
 */
export function topologiesToInstall(env: NodeJS.ProcessEnv = process.env): readonly PackageTopology[] {
  if (env.npm_lifecycle_event === 'test') return ALL_TOPOLOGIES;
  const raw = (env.DB_TOPOLOGY ?? '').trim();
  if (raw === '') return [env.MYSQL_HOST ? 'external' : 'embedded'];
  return (ALL_TOPOLOGIES as readonly string[]).includes(raw) ? [raw as PackageTopology] : ALL_TOPOLOGIES;
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

/** `name<TAB>status` lines; a multi-arch name (`galera-4:amd64`) counts under its package name. */
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

/** The packages these topologies need that are not installed (dpkg) or lack a binary, in list order. */
export function missingPackages(
  topologies: readonly PackageTopology[] = topologiesToInstall(),
  probe: PackageProbe = systemProbe(),
  packages: readonly SystemPackage[] = SYSTEM_PACKAGES,
): string[] {
  const needed = packages.filter((p) => p.topologies === undefined || p.topologies.some((t) => topologies.includes(t)));
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

export function installPlan(packages: string[], context: InstallContext): InstallPlan {
  if (packages.length === 0) return { kind: 'nothing' };
  if (!context.hasAptGet || (context.euid !== 0 && !context.hasSudo)) {
    return { kind: 'manual', line: manualInstallLine(packages) };
  }
  // DEBIAN_FRONTEND keeps debconf from asking questions; `env` passes it through sudo, which
  // otherwise resets the environment. `sudo -n` fails instead of waiting for a password.
  const install = ['env', 'DEBIAN_FRONTEND=noninteractive', ...installArgv(packages)];
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

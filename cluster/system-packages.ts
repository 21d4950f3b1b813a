// The Debian packages the stack runs (HAProxy, MariaDB, Prometheus, the MySQL exporter, ss), how to tell
// whether they are installed, and which command line installs the missing ones. Pure apart from
// findSystemBinary()'s file checks; cluster/cli/ensure-system-packages.ts runs the plan.
import { accessSync, constants } from 'node:fs';
import path from 'node:path';

export interface SystemPackage {
  name: string;
  /** Every binary the stack runs from this package; one missing means the package is missing. */
  binaries: string[];
}

export const SYSTEM_PACKAGES: readonly SystemPackage[] = [
  { name: 'haproxy', binaries: ['haproxy'] },
  { name: 'mariadb-server', binaries: ['mariadbd', 'mariadb-install-db'] },
  { name: 'mariadb-client', binaries: ['mariadb'] },
  { name: 'prometheus', binaries: ['prometheus', 'promtool'] },
  { name: 'prometheus-mysqld-exporter', binaries: ['prometheus-mysqld-exporter'] },
  // `ss`: npm start names the process holding a port it needs (cluster/port-check.ts); minimal images lack it.
  { name: 'iproute2', binaries: ['ss'] },
  // DB_TOPOLOGY=galera: MariaDB's rsync SST runs its transfer through stunnel for TLS (galera/certificates.ts).
  { name: 'stunnel4', binaries: ['stunnel'] },
];

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

export function missingPackages(
  find: (binary: string) => string | undefined = (binary) => findSystemBinary(binary),
  packages: readonly SystemPackage[] = SYSTEM_PACKAGES,
): string[] {
  return packages.filter((p) => p.binaries.some((binary) => find(binary) === undefined)).map((p) => p.name);
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
  return { kind: 'run', commands: [['sudo', '-n', ...update], ['sudo', '-n', ...install]], sudo: true };
}

// `npm start` and `npm test` run this first: installs the Debian packages the stack needs when any is
// missing (as root directly, otherwise through `sudo -n`), or exits non-zero with the line to run by hand.
// "Needs": for the DB_TOPOLOGY chosen, Prometheus and mysqld-exporter only with MONITORING=1, and
// everything with `--for-tests` (or under `npm test`); each package dpkg lists as installed with every
// binary the stack runs from it (cluster/system-packages.ts). No package starts (or stays enabled as) a
// service of its own: the install runs under a policy-rc.d that forbids it. Prints what it installed;
// silent when everything is present, so it costs nothing on a prepared machine.
import { spawnSync } from 'node:child_process';
import net from 'node:net';
import { loadDotEnv } from '../env-file';
import {
  dpkgVersions,
  findSystemBinary,
  installPlan,
  installRequest,
  manualInstallLine,
  missingPackages,
  SYSTEM_PACKAGES,
} from '../system-packages';

// Before anything reads a setting: the project's .env, shell values winning (cluster/env-file.ts).
loadDotEnv();

// Ports of services a package could have started before this installer kept them from starting (an
// older run, an install by hand).
const SERVICE_PORTS: { port: number; service: string; note: string }[] = [
  { port: 3306, service: 'mariadb', note: 'the stack runs its own MariaDB on 3307, so this one is left alone' },
  { port: 9090, service: 'prometheus', note: 'stop it or set PROMETHEUS_PORT to another port' },
  { port: 9100, service: 'prometheus-node-exporter', note: 'the stack does not use it' },
  { port: 9104, service: 'prometheus-mysqld-exporter', note: 'stop it or set MYSQLD_EXPORTER_PORT to another port' },
];

function answers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port, timeout: 500 });
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('timeout', () => (socket.destroy(), resolve(false)));
    socket.once('error', () => resolve(false));
  });
}

async function main(): Promise<number> {
  const request = installRequest(process.env, process.argv.slice(2));
  const missing = missingPackages(request);
  if (missing.length === 0) return 0;
  const forWhat = `for DB_TOPOLOGY ${request.topologies.join(', ')}${request.monitoring ? ' and monitoring' : ''}`;
  if (!request.monitoring) {
    const skipped = missingPackages({ ...request, monitoring: true }).filter((name) => !missing.includes(name));
    if (skipped.length > 0) console.log(`Not installing ${skipped.join(', ')}: MONITORING=1 asks for them.`);
  }

  const plan = installPlan(missing, {
    euid: process.geteuid?.() ?? -1,
    hasAptGet: findSystemBinary('apt-get') !== undefined,
    hasSudo: findSystemBinary('sudo') !== undefined,
  });
  if (plan.kind === 'manual') {
    console.error(`Missing Debian packages ${forWhat}: ${missing.join(', ')}.`);
    console.error('This user cannot install them here (no apt-get, or not root and no sudo). Run:');
    console.error(`  ${plan.line}`);
    return 1;
  }
  if (plan.kind === 'nothing') return 0;

  console.log(`Installing missing Debian packages ${forWhat}: ${missing.join(', ')}.`);
  if (plan.sudo) console.log('Not running as root, so this uses `sudo -n` (fails rather than asking for a password).');
  for (const argv of plan.commands) {
    console.log(`$ ${argv.join(' ')}`);
    const [command, ...args] = argv as [string, ...string[]];
    const result = spawnSync(command, args, { stdio: 'inherit' });
    if (result.status !== 0) {
      console.error(`\`${argv.join(' ')}\` failed (${result.error?.message ?? `exit ${result.status}`}). Run by hand:`);
      console.error(`  ${manualInstallLine(missing)}`);
      return 1;
    }
  }

  const stillMissing = missingPackages(request);
  if (stillMissing.length > 0) {
    console.error(`Still missing after install: ${stillMissing.join(', ')}. Run by hand:`);
    console.error(`  ${manualInstallLine(stillMissing)}`);
    return 1;
  }
  const versions = dpkgVersions(missing);
  console.log(`Installed: ${missing.map((name) => `${name} ${versions.get(name) ?? ''}`.trim()).join(', ')}.`);
  const units = SYSTEM_PACKAGES.filter((p) => missing.includes(p.name) && p.unit).map((p) => p.unit);
  if (units.length > 0) console.log(`None of ${units.join(', ')} was started: the stack runs its own processes.`);
  for (const { port, service, note } of SERVICE_PORTS) {
    if (await answers(port)) {
      console.log(
        `Note: something (likely the ${service} service the package started) listens on 127.0.0.1:${port}; ${note}.`,
      );
    }
  }
  return 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);

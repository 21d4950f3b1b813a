// `npm run lab -- up|down|status|partition <host>|heal <host>|kill <host>` (root, Linux): three hosts
// as network namespaces on a private bridge (cluster/lab/). LAB_PREFIX, LAB_SUBNET and LAB_HOSTS choose another lab
// (defaults: khl, 10.77.0, 3). `up` sweeps a stale lab of the same prefix first; `down` ends every
// process still running in the lab and removes all of it. `status` exits 1 when the lab is not up.
import { loadDotEnv } from '../env-file';
import { labUnavailable } from '../lab/availability';
import { Lab, type LabStatus } from '../lab/network';
import { labSpecFromEnv } from '../lab/spec';
import { renderTable } from '../table';

// Before anything reads a setting: the project's .env, shell values winning (cluster/env-file.ts).
loadDotEnv();

const USAGE = 'Usage: npm run lab -- up | down | status | partition <host> | heal <host> | kill <host>';

function render(lab: Lab, status: LabStatus): string {
  if (!status.up) return `The lab "${lab.plan.spec.prefix}" is not up.`;
  const rows = status.hosts.map((h) => [
    h.name,
    h.address,
    h.netns,
    h.connected ? 'up' : 'partitioned',
    String(h.pids.length),
  ]);
  return [
    renderTable(['host', 'address', 'namespace', 'link', 'processes'], rows),
    '',
    `This machine reaches the hosts from ${status.clientAddress}. Run a command on a host with:`,
    `  ip netns exec ${status.hosts[0]?.netns ?? '<namespace>'} <command>`,
  ].join('\n');
}

function main(argv: string[]): number {
  const [command, host] = argv;
  const spec = labSpecFromEnv(process.env);
  if (command === 'status') {
    const lab = Lab.of(spec);
    const status = lab.status();
    console.log(process.argv.includes('--json') ? JSON.stringify(status, null, 2) : render(lab, status));
    return status.up ? 0 : 1;
  }
  if (command === 'up' || command === 'down') {
    const reason = labUnavailable(spec.prefix);
    if (reason) throw new Error(`Cannot build a lab here: ${reason}.`);
  }
  switch (command) {
    case 'up': {
      const lab = Lab.up(spec);
      console.log(render(lab, lab.status()));
      return 0;
    }
    case 'down': {
      const swept = Lab.of(spec).teardown();
      if (swept.namespaces.length === 0 && swept.links.length === 0) console.log(`No lab "${spec.prefix}" was up.`);
      else {
        const killed = swept.killed.length > 0 ? `, ended ${swept.killed.length} processes` : '';
        console.log(`Removed ${[...swept.namespaces, ...swept.links].join(', ')}${killed}.`);
      }
      return 0;
    }
    case 'partition':
    case 'heal': {
      if (!host) throw new Error(USAGE);
      const lab = Lab.of(spec);
      if (command === 'partition') lab.partition(host);
      else lab.heal(host);
      console.log(`${lab.host(host).name} is ${command === 'partition' ? 'cut off' : 'back on the bridge'}.`);
      return 0;
    }
    case 'kill': {
      if (!host) throw new Error(USAGE);
      const pids = Lab.of(spec).kill(host);
      console.log(pids.length > 0 ? `SIGKILLed ${pids.join(', ')}.` : `Nothing was running on ${host}.`);
      return 0;
    }
    default:
      throw new Error(USAGE);
  }
}

try {
  process.exitCode = main(process.argv.slice(2).filter((arg) => arg !== '--json'));
} catch (error) {
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 1;
}

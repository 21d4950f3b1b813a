// Builds a lab, starts a server in its first host that outlives this process (its own session), prints
// the server's pid, and then waits to be SIGKILLed: the crash the sweep must clean up after.
import { Lab } from '../../../cluster/lab/network';
import { labSpecFromEnv } from '../../../cluster/lab/spec';
import { SERVER_SCRIPT } from './probes';

const lab = Lab.up(labSpecFromEnv(process.env));
const h1 = lab.hosts[0]!;
const server = lab.spawn(h1.name, [process.execPath, '-e', SERVER_SCRIPT, h1.address, '7001'], {
  detached: true,
  stdio: ['ignore', 'pipe', 'ignore'],
});
server.stdout!.once('data', () => {
  console.log(`server ${server.pid}`);
  setInterval(() => undefined, 60_000);
});

// pm2's entry for the Galera health agent: one process, one HTTP listener per node on its agent port
// (GALERA_AGENT_PORT + index), each checking its node over the node's client port as the USAGE-only
// GALERA_CHECK_USER; every listener also serves /metrics (wsrep state of every node). Sends pm2 'ready'
// once every listener is bound; stops on SIGINT/SIGTERM.
import { loadStackSettings } from '../../settings';
import { checkAccountOf } from './env';
import { startHealthAgent, type HealthAgent } from './health-agent';
import { agentTargets } from './targets';

let agent: HealthAgent | undefined;

async function main(): Promise<void> {
  const settings = loadStackSettings();
  const account = checkAccountOf(settings);
  agent = await startHealthAgent({
    // Over several hosts (STACK_HOSTS) the other hosts' proxies check this node here too.
    ...(settings.hosts ? { host: '0.0.0.0' } : {}),
    nodes: agentTargets(settings).map((node) => ({
      name: node.name,
      port: node.agentPort,
      login: { host: node.host, port: node.port, user: account.user, password: account.password },
    })),
  });
  const ports = Object.entries(agent.ports).map(([name, port]) => `${name} on 127.0.0.1:${port}`);
  console.log(`galera-agent: answering for ${ports.join(', ')}.`);
  process.send?.('ready');
}

function stop(signal: NodeJS.Signals): void {
  console.log(`galera-agent: ${signal} received, closing.`);
  void (agent?.close() ?? Promise.resolve()).then(() => process.exit(0));
}

process.on('SIGINT', stop);
process.on('SIGTERM', stop);

main().catch((err: unknown) => {
  console.error(`galera-agent: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});

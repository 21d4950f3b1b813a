// pm2's entry for the Galera health agent: one process, one HTTP listener per node on its agent port
// (GALERA_AGENT_PORT + index), each checking its node over the node's client port as the USAGE-only
// GALERA_CHECK_USER; every listener also serves /metrics (wsrep state of every node) and, for the
// stack's own nodes (DB_TOPOLOGY=galera), /start-state (start-state.ts: what the other hosts' node
// runners decide their start from). Sends pm2 'ready' once every listener is bound; stops on
// SIGINT/SIGTERM. pm2 starts it together with the node and keeps it while the node restarts, so it
// answers while its node is stopped or still deciding.
import { loadStackSettings } from '../../settings';
import { checkAccountOf, galeraLayoutOf } from './env';
import { DEFAULT_CHECK_TIMEOUT_MS, startHealthAgent, type HealthAgent } from './health-agent';
import { nodeByName } from './layout';
import { readStartState } from './start-state';
import { agentTargets } from './targets';

let agent: HealthAgent | undefined;

async function main(): Promise<void> {
  const settings = loadStackSettings();
  const account = checkAccountOf(settings);
  // The stack's own nodes have their files here (external GALERA_SERVERS have none).
  const layout = settings.galera.local ? galeraLayoutOf(settings) : undefined;
  agent = await startHealthAgent({
    // Over several hosts (STACK_HOSTS) the other hosts' proxies check this node here too.
    ...(settings.hosts ? { host: '0.0.0.0' } : {}),
    nodes: agentTargets(settings).map((target) => {
      const login = { host: target.host, port: target.port, user: account.user, password: account.password };
      const node = layout && nodeByName(layout, target.name);
      return {
        name: target.name,
        port: target.agentPort,
        login,
        ...(node ? { startState: () => readStartState(node, login, DEFAULT_CHECK_TIMEOUT_MS) } : {}),
      };
    }),
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

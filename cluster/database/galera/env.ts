// The Galera settings from the environment, for the node and agent entries until cluster/settings.ts
// carries them (DB_TOPOLOGY=galera): how many nodes, their base ports, and the agent's check account.
import path from 'node:path';
import { PROJECT_ROOT } from '../../settings';
import { DEFAULT_BASE_PORTS, galeraLayout, portsFromBase, type GaleraLayout, type GaleraPorts } from './layout';

type Env = Record<string, string | undefined>;

export interface CheckAccount {
  user: string;
  password: string;
}

const PORT_VARIABLES: Record<keyof GaleraPorts, string> = {
  client: 'GALERA_CLIENT_PORT',
  group: 'GALERA_GROUP_PORT',
  ist: 'GALERA_IST_PORT',
  sst: 'GALERA_SST_PORT',
  agent: 'GALERA_AGENT_PORT',
};

function whole(env: Env, name: string, fallback: number, problems: string[]): number {
  const raw = env[name]?.trim();
  if (raw === undefined || raw === '') return fallback;
  if (!/^\d+$/.test(raw)) problems.push(`${name} must be a whole number, got "${raw}".`);
  return Number(raw);
}

/**
 * GALERA_NODES (3), the first node's ports GALERA_{CLIENT,GROUP,IST,SST,AGENT}_PORT (3311, 4567, 4568,
 * 4444, 9201; see layout.ts for the others'), under STACK_DIR. Throws listing every problem.
 */
export function galeraLayoutFromEnv(env: Env = process.env): GaleraLayout {
  const problems: string[] = [];
  const count = whole(env, 'GALERA_NODES', 3, problems);
  // An even count splits into halves that both lose quorum; one node is not a cluster worth the cost.
  if (count < 3 || count % 2 === 0) problems.push(`GALERA_NODES must be an odd number of at least 3, got ${count}.`);
  const base = Object.fromEntries(
    (Object.keys(PORT_VARIABLES) as (keyof GaleraPorts)[]).map((kind) => [kind, whole(env, PORT_VARIABLES[kind], DEFAULT_BASE_PORTS[kind], problems)]),
  ) as unknown as GaleraPorts;
  if (problems.length > 0) throw new Error(problems.join('\n'));
  const stateDir = path.resolve(PROJECT_ROOT, env.STACK_DIR || '.stack');
  return galeraLayout({ stateDir, ports: portsFromBase(count, base) });
}

/** GALERA_CHECK_USER (galera_check) / GALERA_CHECK_PASSWORD (required): the agent's USAGE-only account. */
export function checkAccountFromEnv(env: Env = process.env): CheckAccount {
  const problems: string[] = [];
  const user = env.GALERA_CHECK_USER?.trim() || 'galera_check';
  if (!/^[A-Za-z0-9_]{1,32}$/.test(user)) problems.push(`GALERA_CHECK_USER must be 1-32 of A-Z a-z 0-9 _, got "${user}".`);
  const password = env.GALERA_CHECK_PASSWORD ?? '';
  if (password === '') problems.push('GALERA_CHECK_PASSWORD must be set: the agent logs in over TCP, and no TCP account is passwordless.');
  if (problems.length > 0) throw new Error(problems.join('\n'));
  return { user, password };
}

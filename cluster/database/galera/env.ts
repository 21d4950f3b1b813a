// The local Galera cluster as the stack's settings describe it (DB_TOPOLOGY=galera, GALERA_NODES,
// GALERA_*_PORT, STACK_NAME, read by cluster/settings.ts): its layout under the state dir, and the
// agent's check account. galeraLayoutFromEnv() reads the same variables without the rest of the stack's
// settings (for tests that run nodes alone).
import path from 'node:path';
import { PROJECT_ROOT, readGaleraSettings, type GaleraSettings, type StackSettings } from '../../settings';
import { EnvReader } from '../../../server/env/reader';
import { galeraLayout, portsFromBase, type GaleraLayout } from './layout';

type Env = Record<string, string | undefined>;

export interface CheckAccount {
  user: string;
  password: string;
}

function layoutOf(
  stateDir: string,
  galera: GaleraSettings,
  stackName: string,
  addresses?: readonly string[],
): GaleraLayout {
  return galeraLayout({
    stateDir,
    ports: portsFromBase(galera.nodes, galera.basePorts),
    stackName,
    ...(addresses === undefined ? {} : { addresses }),
  });
}

/** The layout of the stack's own cluster; throws when DB_TOPOLOGY is not galera. */
export function galeraLayoutOf(settings: StackSettings): GaleraLayout {
  if (!settings.galera.local)
    throw new Error(`DB_TOPOLOGY is ${settings.database.topology}, not galera: this stack runs no Galera nodes.`);
  // Node i on host i (STACK_HOSTS), at that host's address.
  return layoutOf(
    settings.stateDir,
    settings.galera.local,
    settings.appPrefix,
    settings.hosts?.hosts.map((host) => host.address),
  );
}

/** GALERA_NODES, GALERA_*_PORT and STACK_NAME under STACK_DIR, alone. Throws listing every problem. */
export function galeraLayoutFromEnv(env: Env = process.env): GaleraLayout {
  const read = new EnvReader(env);
  const galera = readGaleraSettings(read);
  if (read.problems.length > 0) throw new Error(read.problems.join('\n'));
  return layoutOf(path.resolve(PROJECT_ROOT, env.STACK_DIR || '.stack'), galera, env.STACK_NAME || 'kh');
}

/** The agent's USAGE-only account, as the settings give it (generated for the local cluster). */
export function checkAccountOf(settings: StackSettings): CheckAccount {
  if (settings.galera.checkPassword === '') {
    throw new Error(
      'GALERA_CHECK_PASSWORD must be set: the agent logs in over TCP, and no TCP account is passwordless.',
    );
  }
  return { user: settings.galera.checkUser, password: settings.galera.checkPassword };
}

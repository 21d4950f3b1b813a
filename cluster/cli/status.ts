// `npm run status [-- --json]`: pm2 state of every app (uptime, restarts, memory, CPU), each worker's
// readiness and pool, and HAProxy's view of the MySQL server and of every worker behind the front door.
// Over several hosts (STACK_HOSTS) also every host with its Galera node and its proxy, read over the
// network, the node each proxy writes to, and whether the proxies agree (cluster/hosts/hosts-table.ts).
// Exits 1 when any part is not up, so scripts can use it as a check.
import { loadDotEnv } from '../env-file';
import { loadStackSettings } from '../settings';
import { renderStatus, stackStatus, statusJson, appReady } from '../stack-status';

// Before anything reads a setting: the project's .env, shell values winning (cluster/env-file.ts).
loadDotEnv();

async function main(): Promise<number> {
  const statuses = await stackStatus(loadStackSettings());
  if (process.argv.includes('--json')) console.log(JSON.stringify(statusJson(statuses), null, 2));
  else console.log(renderStatus(statuses));
  // Every app online, every worker ready, and every Galera node Synced in a Primary component.
  const up = statuses.every(appReady);
  return up ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  },
);

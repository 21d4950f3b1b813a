// `npm run restart-db`: restarts the embedded MariaDB, the one part a reload never touches. A single
// server cannot restart without an outage: while it is down every worker answers database requests
// with `503 database_unavailable` (HAProxy marks it DOWN within ~3 s and closes the pooled connections),
// and each worker reconnects by itself once it is back. This says so first and measures the outage.
//
// DB_TOPOLOGY=galera: a rolling restart instead, one node at a time, the node HAProxy writes to last,
// each Synced again (by IST) before the next goes down, so the cluster keeps its quorum and a writer.
import { appsOfKind, stackApps, workerUrl } from '../apps';
import { galeraLayoutOf } from '../database/galera/env';
import { nodeAdminLogin } from '../database/galera/node';
import { checkNode } from '../database/galera/wsrep-status';
import { loadDotEnv } from '../env-file';
import { haproxyPaths } from '../haproxy/config-files';
import { haproxyCommand, stickTableServer } from '../haproxy/stats';
import { runPm2 } from '../pm2';
import { loadStackSettings, type StackSettings } from '../settings';
import { stackStatus } from '../stack-status';

// Before anything reads a setting: the project's .env, shell values winning (cluster/env-file.ts).
loadDotEnv();

async function rollingRestart(settings: StackSettings): Promise<number> {
  const layout = galeraLayoutOf(settings);
  const writer = await stickTableServer(haproxyPaths(settings).socket);
  const order = [
    ...layout.nodes.filter((node) => node.name !== writer),
    ...layout.nodes.filter((node) => node.name === writer),
  ];
  for (const node of layout.nodes) {
    if (!(await checkNode(nodeAdminLogin(node), 1000)).ok) {
      console.error(
        `${node.name} is not Synced now: restarting another node could cost the quorum. \`npm run status\`.`,
      );
      return 1;
    }
  }
  console.log(
    `Rolling restart of the Galera nodes, one at a time: ${order.map((n) => n.name).join(', ')} (the writer${writer ? `, ${writer},` : ''} last).`,
  );
  const socket = haproxyPaths(settings).socket;
  for (const node of order) {
    const started = Date.now();
    // Out of HAProxy first (new connections, and so the writes, go to the next node; open sessions are
    // cut, so the pools reconnect there), rather than letting a shutting-down node answer queries
    // with errors until the agent's check notices.
    await haproxyCommand(socket, `set server mysql/${node.name} state maint`);
    await haproxyCommand(socket, `shutdown sessions server mysql/${node.name}`);
    const app = appsOfKind(stackApps(settings), 'galera-node').find((a) => a.node === node.name)!;
    const result = await runPm2(['restart', app.name, '--update-env'], process.env, settings.startTimeoutMs);
    if (result.code !== 0) {
      console.error(result.stderr || result.stdout);
      return 1;
    }
    while (!(await checkNode(nodeAdminLogin(node), 1000)).ok) {
      if (Date.now() - started > settings.startTimeoutMs) {
        console.error(
          `${node.name} was not Synced again within ${settings.startTimeoutMs / 1000}s; stopping the rolling restart here.`,
        );
        return 1;
      }
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    await haproxyCommand(socket, `set server mysql/${node.name} state ready`);
    console.log(`${node.name} is Synced again after ${((Date.now() - started) / 1000).toFixed(1)}s.`);
  }
  console.log('Every Galera node was restarted; the cluster kept its quorum throughout.');
  return 0;
}

async function workersServe(urls: string[]): Promise<boolean> {
  const answers = await Promise.all(
    urls.map((url) =>
      fetch(`${url}/readyz`, { signal: AbortSignal.timeout(1000) }).then(
        async (response) => (await response.arrayBuffer(), response.status === 200),
        () => false,
      ),
    ),
  );
  return answers.every(Boolean);
}

async function main(): Promise<number> {
  const settings = loadStackSettings();
  if (settings.database.topology === 'galera') return rollingRestart(settings);
  if (!settings.database.embedded) {
    console.error(`MYSQL_HOST is set (${settings.database.host}): the database is not this stack's to restart.`);
    return 1;
  }
  const apps = stackApps(settings);
  const { name } = appsOfKind(apps, 'database')[0]!;
  if (!(await stackStatus(settings)).some((s) => s.name === name && s.pm2)) {
    console.error('The stack is not running: `npm start` starts it.');
    return 1;
  }
  console.log(`Restarting ${name}: database requests fail with 503 database_unavailable until it is back.`);
  const started = Date.now();
  const result = await runPm2(['restart', name, '--update-env'], process.env, settings.startTimeoutMs);
  if (result.code !== 0) {
    console.error(result.stderr || result.stdout);
    return 1;
  }
  const urls = appsOfKind(apps, 'worker').map((app) => workerUrl(settings, app.port!));
  const deadline = started + settings.startTimeoutMs;
  while (!(await workersServe(urls))) {
    if (Date.now() > deadline) {
      console.error('The workers did not reach the database again in time: `npm run status`.');
      return 1;
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  console.log(`MariaDB is back and every worker is ready again after ${((Date.now() - started) / 1000).toFixed(1)}s.`);
  return 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  },
);

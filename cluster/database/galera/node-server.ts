// pm2's entry for one Galera node (`node-server.ts n2`), like cluster/database/server.ts for the single
// server: decides how this node starts (coordinate.ts: recover after a crash, bootstrap or join), runs
// mariadbd in the foreground, sends pm2 'ready' once the node is Synced, and exits non-zero when mariadbd
// dies so pm2 restarts the pair (and the next start recovers the position, so the node rejoins by IST).
//
// pm2 stops an app with SIGINT, which mariadbd ignores; pm2 would then SIGKILL it after kill_timeout,
// leaving seqno -1 in grastate.dat on every stop. So SIGINT (and SIGTERM) become the SIGTERM on which
// mariadbd leaves the cluster cleanly and saves its position. kill_timeout must cover that shutdown.
//
// The node that bootstraps the cluster (a new one, or a whole-cluster restart) also applies the
// migrations once it is Synced, before its 'ready': the one place they run, against a Primary
// component of one, from which they replicate to every node that joins (DDL in total order).
import mysql from 'mysql2/promise';
import { STOPPED_BEFORE_READY } from '../../../server/startup/exit-codes';
import { embeddedAdminUser, secureEmbeddedAccounts } from '../admin-account';
import { migrate } from '../migrate';
import { loadStackSettings, type StackSettings } from '../../settings';
import { decideOwnStart } from './coordinate';
import { galeraLayoutOf } from './env';
import { nodeByName, type GaleraNode } from './layout';
import { nodeAdminLogin, spawnNode, waitUntilSynced, type RunningNode } from './node';

// A joiner's SST of a small datadir takes ~6-9 s here; InnoDB recovery after a kill a few more.
const SYNCED_TIMEOUT_MS = 5 * 60_000;

let running: RunningNode | undefined;
let stopping = false;
let ready = false;
let failed = false;
const deciding = new AbortController();

function stop(signal: NodeJS.Signals): void {
  stopping = true;
  console.log(`galera-node: ${signal} received, stopping mariadbd.`);
  deciding.abort(new Error(`${signal} received`));
  if (running && running.child.exitCode === null && running.child.signalCode === null) running.child.kill('SIGTERM');
  else process.exit(ready ? 0 : STOPPED_BEFORE_READY);
}

async function main(): Promise<void> {
  const name = process.argv[2];
  if (name === undefined) throw new Error('Usage: node-server.ts <node name, e.g. n1>');
  const settings = loadStackSettings();
  const layout = galeraLayoutOf(settings);
  const node = nodeByName(layout, name);
  const start = await decideOwnStart(layout, node, { signal: deciding.signal, log: (line) => console.log(line) });
  if (stopping) process.exit(STOPPED_BEFORE_READY);
  const current = await spawnNode(layout, node, start, { stdio: 'inherit' });
  running = current;
  const died = new AbortController();
  current.child.once('error', (err) => {
    console.error(`galera-node: could not run mariadbd: ${err.message}`);
    process.exit(1);
  });
  void current.exited.then(({ code, signal }) => {
    died.abort(new Error(`mariadbd exited (${signal ?? `code ${code}`}) before it was Synced.`));
    if (stopping) process.exit(failed || code !== 0 ? 1 : ready ? 0 : STOPPED_BEFORE_READY);
    console.error(
      `galera-node: mariadbd of ${name} exited unexpectedly (${signal ?? `code ${code}`}); exiting so pm2 restarts it.`,
    );
    process.exit(1);
  });
  const health = await waitUntilSynced(current, SYNCED_TIMEOUT_MS, died.signal);
  console.log(
    `galera-node: ${name} is ${health.status.wsrep_local_state_comment} in a cluster of ${health.status.wsrep_cluster_size} on 127.0.0.1:${node.ports.client}.`,
  );
  if (start.kind === 'bootstrap') await prepareCluster(settings, node);
  ready = true;
  process.send?.('ready');
}

/** On the bootstrapping node: the embedded server's account hygiene, then the migrations. */
async function prepareCluster(settings: StackSettings, node: GaleraNode): Promise<void> {
  const admin = nodeAdminLogin(node);
  const connection = await mysql.createConnection({ ...admin, namedPlaceholders: true });
  try {
    for (const account of await secureEmbeddedAccounts(connection, embeddedAdminUser())) {
      console.log(`galera-node: dropped the account '${account.user}'@'${account.host}' (${account.reason}).`);
    }
  } finally {
    await connection.end();
  }
  const applied = await migrate(settings, admin);
  console.log(`galera-node: ${node.name} bootstrapped the cluster; applied ${applied.join(', ') || 'nothing'}.`);
}

// Everything this process and mariadbd create is for the stack's OS user only.
process.umask(0o077);
process.on('SIGINT', stop);
process.on('SIGTERM', stop);

main().catch((err: unknown) => {
  console.error(`galera-node: ${err instanceof Error ? err.message : String(err)}`);
  stopping = true;
  failed = true;
  if (running && running.child.exitCode === null && running.child.signalCode === null) running.child.kill('SIGTERM');
  else process.exit(1);
});

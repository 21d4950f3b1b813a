// One Galera node's mariadbd, run in the foreground by whoever calls startNode(): the pm2 wrapper
// (node-server.ts) or a test. Prepares the datadir for the chosen start (a bootstrapping node needs a
// real one, a joiner gets the donor's by SST) and the cluster's certificates, starts mariadbd with the
// node's argv, and waits until the node is Synced in a Primary component.
import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import type mysql from 'mysql2/promise';
import { initDatadir, stopStaleServer } from '../embedded';
import { systemBinary } from '../../system-packages';
import { galeraMariadbdArgs, galeraNodeEnv, renderSstOptionFile, type StartMode } from './args';
import { ensureGaleraCertificates } from './certificates';
import type { GaleraLayout, GaleraNode } from './layout';
import { forgetRecoveredPosition, markNodeSafeToBootstrap } from './node-state';
import { checkNode, type WsrepHealth } from './wsrep-status';

/**
 * The node's administrator: the OS user over the node's socket (unix_socket authentication, as for the
 * embedded server). A joiner's accounts are the donor's, copied by SST, so this works on every node.
 */
export function nodeAdminLogin(node: GaleraNode): mysql.ConnectionOptions {
  return { socketPath: node.socket, user: os.userInfo().username, password: '' };
}

/** mariadbd creates files 0660 and folders 0700 unless told otherwise: private to the stack's user. */
const PRIVATE_FILES_ENV = { UMASK: '0600', UMASK_DIR: '0700' };

/** Makes the datadir the start needs; true when mariadb-install-db ran. */
export async function prepareDatadir(node: GaleraNode, mode: StartMode): Promise<boolean> {
  await mkdir(node.dir, { recursive: true, mode: 0o700 });
  if (mode.kind === 'bootstrap') return initDatadir(node.datadir);
  // A joiner without a datadir receives a whole one by SST: nothing to install (saves ~2 s of CPU).
  await mkdir(node.datadir, { recursive: true, mode: 0o700 });
  return false;
}

export interface RunningNode {
  node: GaleraNode;
  child: ChildProcess;
  /** Resolves with the exit code or signal once mariadbd has exited. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGTERM (a clean shutdown: grastate.dat keeps the seqno) and wait for the exit. */
  stop(): Promise<void>;
  /** SIGKILL, as a crash would (grastate.dat says seqno -1), and wait for the exit. */
  kill(): Promise<void>;
}

export interface StartNodeOptions {
  /** stdio of mariadbd; the error log goes to node.logFile either way. */
  stdio?: StdioOptions;
  /** Called with the child right after spawn (e.g. to kill it when the caller exits). */
  onSpawn?: (child: ChildProcess) => void;
}

/** Spawns mariadbd for `mode` (after marking the node safe to bootstrap when the plan says so). */
export async function spawnNode(
  layout: GaleraLayout,
  node: GaleraNode,
  mode: StartMode & { markSafeToBootstrap?: boolean },
  opts: StartNodeOptions = {},
): Promise<RunningNode> {
  if (await stopStaleServer(node)) console.log(`galera ${node.name}: stopped a mariadbd left running on this datadir.`);
  await prepareDatadir(node, mode);
  await ensureGaleraCertificates(layout);
  await writeFile(node.optionFile, renderSstOptionFile(layout, node), { mode: 0o600 });
  if (mode.kind === 'bootstrap' && mode.markSafeToBootstrap === true) await markNodeSafeToBootstrap(node);
  const args = galeraMariadbdArgs(layout, node, { kind: mode.kind, startPosition: mode.startPosition });
  const child = spawn(systemBinary('mariadbd'), args, {
    stdio: opts.stdio ?? 'ignore',
    env: { ...galeraNodeEnv(), ...PRIVATE_FILES_ENV },
  });
  opts.onSpawn?.(child);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
    child.once('error', () => resolve({ code: null, signal: null }));
  });
  const end = async (signal: NodeJS.Signals) => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    await exited;
  };
  return { node, child, exited, stop: () => end('SIGTERM'), kill: () => end('SIGKILL') };
}

/**
 * Polls the node over its socket until it is Synced, Primary and ready; rejects when mariadbd exits
 * first (its error log says why), on abort, or after timeoutMs. Forgets the recovered position once the
 * node runs, since its InnoDB has moved on.
 */
export async function waitUntilSynced(
  running: RunningNode,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<WsrepHealth> {
  const deadline = Date.now() + timeoutMs;
  let last: WsrepHealth | undefined;
  let gone = false;
  void running.exited.then(() => (gone = true));
  while (Date.now() < deadline) {
    signal?.throwIfAborted();
    if (gone)
      throw new Error(
        `mariadbd of ${running.node.name} exited before it was Synced; see ${running.node.logFile}. ${last?.reason ?? ''}`.trim(),
      );
    last = await checkNode(nodeAdminLogin(running.node), 1000);
    if (last.ok) {
      await forgetRecoveredPosition(running.node);
      return last;
    }
    await sleep(200);
  }
  throw new Error(
    `${running.node.name} was not Synced within ${timeoutMs} ms (last: ${last?.reason ?? 'no answer'}); see ${running.node.logFile}.`,
  );
}

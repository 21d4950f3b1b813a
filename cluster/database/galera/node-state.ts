// A stopped node's saved state on disk: its grastate.dat, and the position `mariadbd --wsrep-recover`
// finds in InnoDB after a crash (kept in <node>/recovered-position until the node starts from it, so
// the other nodes' runners can read it too). The decision itself is recovery-plan.ts.
import { execFile } from 'node:child_process';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { systemBinary } from '../../system-packages';
import { galeraNodeEnv, wsrepRecoverArgs } from './args';
import {
  formatPosition,
  markSafeToBootstrap,
  parseGrastate,
  parseRecoveredPosition,
  type GaleraPosition,
  type GraState,
} from './grastate';
import type { GaleraLayout, GaleraNode } from './layout';

export function grastatePath(node: GaleraNode): string {
  return path.join(node.datadir, 'grastate.dat');
}

async function readIfPresent(file: string): Promise<string | undefined> {
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

/** The node's grastate.dat, or undefined when it has none (never joined a cluster). */
export async function readGrastate(node: GaleraNode): Promise<GraState | undefined> {
  const text = await readIfPresent(grastatePath(node));
  return text === undefined ? undefined : parseGrastate(text);
}

/**
 * Moves aside the node's grastate.dat when it exists but holds no position (empty, or no valid uuid or
 * seqno line: what a failed SST leaves), together with a recovered position saved for it, and says what
 * it did; undefined when the file is valid or absent. Without the file the node has no cluster state,
 * so the plan never bootstraps from it while another node has one, and it joins by a full SST, which
 * replaces its datadir. Called by the node's own runner before it starts the node: that node's
 * mariadbd is not running, so the file cannot be one Galera is rewriting at that moment (another
 * node's can, which is why other runners only wait for this one, see coordinate.ts). Kept, renamed, for
 * whoever wants to know what the failed SST left.
 */
export async function setAsideInvalidGrastate(node: GaleraNode, now: Date = new Date()): Promise<string | undefined> {
  const file = grastatePath(node);
  const text = await readIfPresent(file);
  if (text === undefined) return undefined;
  try {
    parseGrastate(text);
    return undefined;
  } catch (error) {
    const aside = `${file}.invalid-${now.toISOString().replace(/[:.]/g, '-')}`;
    await rename(file, aside);
    await forgetRecoveredPosition(node);
    const why =
      text.trim() === ''
        ? 'is empty'
        : (error as Error).message
            .split('\n')[0]!
            .replace(/^grastate\.dat /, '')
            .replace(/:$/, '');
    return `grastate.dat ${why} (a failed SST?); moved it to ${path.basename(aside)}, so the node joins by SST.`;
  }
}

/** Sets safe_to_bootstrap: 1, the only way Galera lets this node start a new Primary component. */
export async function markNodeSafeToBootstrap(node: GaleraNode): Promise<void> {
  const file = grastatePath(node);
  const text = await readFile(file, 'utf8');
  await writeFile(`${file}.tmp`, markSafeToBootstrap(text), { mode: 0o600 });
  await rename(`${file}.tmp`, file); // never a half-written grastate.dat
}

/** The position a previous recoverPosition() saved, if the node has not started from it since. */
export async function readRecoveredPosition(node: GaleraNode): Promise<GaleraPosition | undefined> {
  const text = await readIfPresent(node.recoveredFile);
  return text === undefined ? undefined : parseRecoveredPosition(`WSREP: Recovered position: ${text.trim()}`);
}

/** Forgets the saved position: called once the node runs from it (its InnoDB moves on). */
export async function forgetRecoveredPosition(node: GaleraNode): Promise<void> {
  await rm(node.recoveredFile, { force: true });
}

/**
 * Runs `mariadbd --wsrep-recover` on the stopped node (what galera_recovery does): InnoDB crash recovery,
 * then the last committed position is logged and mariadbd exits. Saves and returns that position;
 * throws with the log's last lines when there is none.
 */
export async function recoverPosition(
  layout: GaleraLayout,
  node: GaleraNode,
  timeoutMs = 120_000,
): Promise<GaleraPosition> {
  await mkdir(node.dir, { recursive: true, mode: 0o700 });
  const log = path.join(node.dir, 'wsrep-recover.log');
  await rm(log, { force: true });
  let failure: unknown;
  try {
    await promisify(execFile)(systemBinary('mariadbd'), wsrepRecoverArgs(layout, node, log), {
      env: galeraNodeEnv(),
      timeout: timeoutMs,
    });
  } catch (error) {
    failure = error;
  }
  const text = (await readIfPresent(log)) ?? '';
  const position = parseRecoveredPosition(text);
  if (position === undefined) {
    const reason = failure instanceof Error ? ` (${failure.message.split('\n')[0]})` : '';
    throw new Error(
      `mariadbd --wsrep-recover found no position for ${node.name}${reason}; last lines of ${log}:\n${text.split('\n').slice(-15).join('\n')}`,
    );
  }
  await writeFile(node.recoveredFile, `${formatPosition(position)}\n`, { mode: 0o600 });
  return position;
}

// How one node's runner decides its own start without a coordinator: it looks at every node (the
// others over their sockets, everyone's files on disk, all on this machine), recovers its own position
// after a crash, and applies planStart(). Every runner sees the same files and so reaches the same plan:
// exactly one bootstraps, and the others wait until some node is Primary before they join, instead of
// timing out against a cluster that is not there yet. A node whose grastate.dat holds no position (a
// failed SST) has it set aside by its own runner and is re-provisioned by SST.
import { setTimeout as sleep } from 'node:timers/promises';
import type { StartMode } from './args';
import type { GaleraLayout, GaleraNode } from './layout';
import { nodeAdminLogin } from './node';
import { readGrastate, readRecoveredPosition, recoverPosition, setAsideInvalidGrastate } from './node-state';
import { planStart, type NodeStartState, type StartPlan } from './recovery-plan';
import { checkNode } from './wsrep-status';

/** Synced in a Primary component right now (over the node's socket, as the OS user). */
export async function isPrimary(node: GaleraNode, timeoutMs = 1000): Promise<boolean> {
  return (await checkNode(nodeAdminLogin(node), timeoutMs)).ok;
}

/** What planStart() needs to know about every node; `self` is never probed (it is not running). */
export async function gatherStartStates(layout: GaleraLayout, self?: GaleraNode): Promise<NodeStartState[]> {
  return Promise.all(
    layout.nodes.map(async (node) => ({
      name: node.name,
      running: node !== self && (await isPrimary(node)),
      grastate: await readGrastate(node),
      recovered: await readRecoveredPosition(node),
    })),
  );
}

export type OwnStart = StartMode & { markSafeToBootstrap?: boolean; plan: StartPlan };

export interface DecideOptions {
  /** Give up after this long (the nodes this one waits for may never come). */
  timeoutMs?: number;
  signal?: AbortSignal;
  /** Progress lines (what it waits for, once per change). */
  log?: (line: string) => void;
}

/**
 * The start of `self`: recovers its position first when it crashed, bootstraps when the plan says so,
 * joins when some node is Primary, and otherwise waits (for the other runners' recoveries, or for the
 * chosen node to bootstrap). Throws when the plan refuses (the nodes' states disagree) or on timeout.
 */
export async function decideOwnStart(layout: GaleraLayout, self: GaleraNode, opts: DecideOptions = {}): Promise<OwnStart> {
  const deadline = Date.now() + (opts.timeoutMs ?? 10 * 60_000);
  let said = '';
  const say = (line: string) => {
    if (line !== said) opts.log?.(`galera ${self.name}: ${line}`);
    said = line;
  };
  // Its own state first: an invalid grastate.dat here would keep every runner (this one included)
  // waiting to read it, forever.
  const setAside = await setAsideInvalidGrastate(self);
  if (setAside !== undefined) say(setAside);
  for (;;) {
    opts.signal?.throwIfAborted();
    let states: NodeStartState[] | undefined;
    try {
      states = await gatherStartStates(layout, self);
    } catch (error) {
      // A starting node rewrites its grastate.dat in place: an empty or half-written one is read again.
      // One a failed SST left stays so only until that node's runner sets it aside (above).
      say(`waiting: cannot read every node's state yet (${error instanceof Error ? error.message.split('\n')[0] : String(error)}).`);
    }
    const plan: StartPlan = states ? planStart(states) : { kind: 'recover-first', nodes: [], reason: 'states unreadable' };
    if (plan.kind === 'refuse') throw new Error(plan.reason);
    if (plan.kind === 'recover-first') {
      if (plan.nodes.includes(self.name)) {
        say('no saved position (seqno -1): running mariadbd --wsrep-recover.');
        const position = await recoverPosition(layout, self);
        say(`recovered position ${position.uuid}:${position.seqno}.`);
        continue;
      }
      if (states) say(`waiting: ${plan.reason}`);
    } else {
      const action = plan.actions[self.name];
      if (action?.kind === 'bootstrap') {
        say(plan.reason);
        return { kind: 'bootstrap', markSafeToBootstrap: action.markSafeToBootstrap, startPosition: action.startPosition, plan };
      }
      if (action?.kind === 'join' && plan.bootstrap === undefined) {
        say(`${plan.reason} Joining${action.startPosition === undefined ? '' : ` from ${action.startPosition}`}.`);
        return { kind: 'join', startPosition: action.startPosition, plan };
      }
      say(`waiting for ${plan.bootstrap ?? 'a node'} to bootstrap the cluster (${plan.reason})`);
    }
    if (Date.now() > deadline) throw new Error(`galera ${self.name}: gave up waiting to start: ${said}`);
    await sleep(500);
  }
}

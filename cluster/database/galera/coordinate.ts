// How one node's runner decides its own start without a coordinator: it looks at every node, recovers
// its own position after a crash, and applies planStart(). On one machine it reads every node's files
// on disk and checks the others over their sockets. Over several hosts (STACK_HOSTS) only its own node's
// files and socket are here: it asks each other node's host agent for that node's start state
// (start-state.ts), and a node whose agent does not answer is unknown, so the plan waits rather than
// bootstrap beside it. Every runner sees the same states and so reaches the same plan: exactly one
// bootstraps, and the others wait until some node is Primary before they join, instead of timing out
// against a cluster that is not there yet. A node whose grastate.dat holds no position (a failed SST)
// has it set aside by its own runner and is re-provisioned by SST.
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import mysql from 'mysql2/promise';
import { stickTableServer } from '../../haproxy/stats';
import type { StartMode } from './args';
import { nodeHostPort, type GaleraLayout, type GaleraNode } from './layout';
import { nodeAdminLogin } from './node';
import { readGrastate, readRecoveredPosition, recoverPosition, setAsideInvalidGrastate } from './node-state';
import { planStart, type NodeStartState, type StartPlan } from './recovery-plan';
import { askStartState, type StartStateAnswer } from './start-state';
import { checkNode } from './wsrep-status';

/** Synced in a Primary component right now (over the node's socket, as the OS user). */
export async function isPrimary(node: GaleraNode, timeoutMs = 1000): Promise<boolean> {
  return (await checkNode(nodeAdminLogin(node), timeoutMs)).ok;
}

/** A node whose files and socket are on self's machine: every node on one machine, self's own over several hosts. */
export function isLocal(node: GaleraNode, self: GaleraNode): boolean {
  return node.address === self.address;
}

/** What planStart() needs of one node, and (running, over several hosts) the members it lists. */
export type GatheredState = NodeStartState & { members?: string[] };

/** A node's state from its agent's answer, or unknown when there is none. Pure. */
export function fromAgent(name: string, answer: StartStateAnswer | undefined): GatheredState {
  if (answer === undefined) return { name, running: false, unknown: true };
  return {
    name,
    running: answer.running,
    ...(answer.grastate === null ? {} : { grastate: answer.grastate }),
    ...(answer.recovered === null ? {} : { recovered: answer.recovered }),
    members: answer.members,
  };
}

// An agent answers within its own check budget (1 s connect, 1 s query); a host cut off only times out.
const AGENT_TIMEOUT_MS = 3000;

/**
 * What planStart() needs to know about every node; `self` is never probed (it is not running). Local
 * nodes from disk and socket (a grastate.dat that does not parse rejects, as before); the others from
 * their agents, unknown when an agent does not answer.
 */
export async function gatherStartStates(
  layout: GaleraLayout,
  self?: GaleraNode,
  ask: (node: GaleraNode) => Promise<StartStateAnswer> = (node) => askStartState(node, AGENT_TIMEOUT_MS),
): Promise<GatheredState[]> {
  return Promise.all(
    layout.nodes.map(async (node): Promise<GatheredState> => {
      if (self !== undefined && !isLocal(node, self)) {
        return fromAgent(node.name, await ask(node).catch(() => undefined));
      }
      return {
        name: node.name,
        running: node !== self && (await isPrimary(node)),
        grastate: await readGrastate(node),
        recovered: await readRecoveredPosition(node),
      };
    }),
  );
}

export type OwnStart = StartMode & { markSafeToBootstrap?: boolean; plan: StartPlan };

/**
 * The node a joiner should take its state transfer from: a running node HAProxy does not write to, the
 * last such in layout order; undefined when there is none (args.ts's static preference then applies).
 * A donor is Desynced while it sends (the agent reports it not Synced) and read-locked for an SST: on
 * the writer that stalls every write until the transfer ends (issue 15: 11 s of 503 pool_timeout on the
 * new writer when the killed writer rejoined).
 */
export function preferredDonor(
  layout: GaleraLayout,
  self: GaleraNode,
  running: readonly string[],
  writer: string | undefined,
): string | undefined {
  return layout.nodes.filter((node) => node !== self && running.includes(node.name) && node.name !== writer).at(-1)
    ?.name;
}

/**
 * Whether a running node still lists `self` as a member (its wsrep_incoming_addresses holds self's client
 * address): the previous run of a node that was killed, not yet evicted. Read over the running local
 * nodes' sockets, and for the others from the members their agents sent (`states`); a node that does not
 * answer says nothing.
 */
export async function listedAsMember(
  self: GaleraNode,
  running: readonly GaleraNode[],
  timeoutMs = 1000,
  states: readonly GatheredState[] = [],
): Promise<boolean> {
  const address = nodeHostPort(self, self.ports.client);
  const answers = await Promise.all(
    running.map(async (node) => {
      if (!isLocal(node, self))
        return states.find((state) => state.name === node.name)?.members?.includes(address) ?? false;
      const connection = await mysql
        .createConnection({ ...nodeAdminLogin(node), connectTimeout: timeoutMs })
        .catch(() => undefined);
      if (connection === undefined) return false;
      try {
        const [rows] = await connection.query<mysql.RowDataPacket[]>({
          sql: "SHOW GLOBAL STATUS LIKE 'wsrep_incoming_addresses'",
          timeout: timeoutMs,
        });
        return String(rows[0]?.Value ?? '')
          .split(',')
          .map((entry) => entry.trim())
          .includes(address);
      } catch {
        return false;
      } finally {
        await connection.end().catch(() => undefined);
      }
    }),
  );
  return answers.some(Boolean);
}

// Long enough for evs.suspect_timeout (5 s) and the view change after it; bounded, so a listing that
// never goes away (an address reused by hand) only delays the join.
const EVICTION_WAIT_MS = 30_000;

/** The node the stack's HAProxy writes to (its one-entry stick table), or undefined when it does not say. */
function stackWriter(layout: GaleraLayout): Promise<string | undefined> {
  // <stateDir>/galera beside <stateDir>/haproxy/stats.sock (cluster/haproxy/config-files.ts).
  return stickTableServer(path.join(path.dirname(layout.dir), 'haproxy', 'stats.sock')).catch(() => undefined);
}

export interface DecideOptions {
  /** Give up after this long (the nodes this one waits for may never come). */
  timeoutMs?: number;
  signal?: AbortSignal;
  /** Progress lines (what it waits for, once per change). */
  log?: (line: string) => void;
  /** Which node takes the writes now; by default the stack's HAProxy's answer. */
  writer?: () => Promise<string | undefined>;
}

/**
 * The start of `self`: recovers its position first when it crashed, bootstraps when the plan says so,
 * joins when some node is Primary, and otherwise waits (for the other runners' recoveries, or for the
 * chosen node to bootstrap). Throws when the plan refuses (the nodes' states disagree) or on timeout.
 */
export async function decideOwnStart(
  layout: GaleraLayout,
  self: GaleraNode,
  opts: DecideOptions = {},
): Promise<OwnStart> {
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
  let evictionWaitFrom: number | undefined;
  for (;;) {
    opts.signal?.throwIfAborted();
    let states: GatheredState[] | undefined;
    try {
      states = await gatherStartStates(layout, self);
    } catch (error) {
      // A starting node rewrites its grastate.dat in place: an empty or half-written one is read again.
      // One a failed SST left stays so only until that node's runner sets it aside (above).
      say(
        `waiting: cannot read every node's state yet (${error instanceof Error ? error.message.split('\n')[0] : String(error)}).`,
      );
    }
    const plan: StartPlan = states
      ? planStart(states)
      : { kind: 'recover-first', nodes: [], reason: 'states unreadable' };
    if (plan.kind === 'refuse') throw new Error(plan.reason);
    if (plan.kind === 'wait') {
      // Over several hosts: another host's agent does not answer (not started yet, or cut off).
      say(`waiting: ${plan.reason}`);
    } else if (plan.kind === 'recover-first') {
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
        return {
          kind: 'bootstrap',
          markSafeToBootstrap: action.markSafeToBootstrap,
          startPosition: action.startPosition,
          plan,
        };
      }
      if (action?.kind === 'join' && plan.bootstrap === undefined) {
        // A node killed and restarted before the others evicted it: joining now, beside its old member
        // the new one does not suspect, leaves the eviction to evs.inactive_timeout (15 s), and the
        // cluster's commits wait that long (issue 15: the new writer stalled, 503 pool_timeout). Once
        // the old member is gone (~5 s after the kill, evs.suspect_timeout) the join costs nothing.
        const runningNodes = layout.nodes.filter(
          (node) => node !== self && states?.find((state) => state.name === node.name)?.running,
        );
        evictionWaitFrom ??= Date.now();
        if (
          Date.now() - evictionWaitFrom < EVICTION_WAIT_MS &&
          (await listedAsMember(self, runningNodes, 1000, states))
        ) {
          say(
            'waiting: the running nodes still list this node (its previous run, killed); joining before they evict it would stall their writes.',
          );
          await sleep(250);
          continue;
        }
        const writer = await (opts.writer ?? (() => stackWriter(layout)))();
        const sstDonor = preferredDonor(
          layout,
          self,
          (states ?? []).filter((state) => state.running).map((state) => state.name),
          writer,
        );
        say(
          `${plan.reason} Joining${action.startPosition === undefined ? '' : ` from ${action.startPosition}`}` +
            `${sstDonor === undefined ? '' : `, state from ${sstDonor}${writer === undefined ? '' : ` (${writer} takes the writes)`}`}.`,
        );
        return {
          kind: 'join',
          startPosition: action.startPosition,
          plan,
          ...(sstDonor === undefined ? {} : { sstDonor }),
        };
      }
      say(`waiting for ${plan.bootstrap ?? 'a node'} to bootstrap the cluster (${plan.reason})`);
    }
    if (Date.now() > deadline) throw new Error(`galera ${self.name}: gave up waiting to start: ${said}`);
    await sleep(500);
  }
}

// Which node bootstraps and how the others join: the decision galera_recovery and a careful operator
// make, as a pure function of what each node's files say (and whether any node is running now).
//
// - Some node is running (a member of a Primary component): nobody bootstraps; every stopped node joins.
//   A node that was SIGKILLed (seqno -1) joins with --wsrep-start-position=<recovered uuid:seqno>, so a
//   donor can send it the missing write sets (IST) instead of a full copy (SST).
// - Nothing runs and no node has a history: a fresh cluster; the first node bootstraps, the others join
//   by SST.
// - Nothing runs: the node with the highest position bootstraps (seqno from grastate.dat after a clean
//   stop, from --wsrep-recover after a crash; ties go to the node Galera marked safe_to_bootstrap, then to
//   the lowest index), after its grastate.dat is set to safe_to_bootstrap: 1 when it is not already, since
//   Galera refuses --wsrep-new-cluster otherwise. Every SIGKILLed node must be recovered first, or a node
//   with newer commits could be overwritten by an older one's state.
// - Some node's state is unknown (over several hosts: its host's agent did not answer) and none runs:
//   nobody bootstraps, since the unknown node may hold the newest commits or run a cluster this one
//   cannot see; the plan waits. One exception, a cluster's first start: the first node bootstraps when
//   neither it nor any node that answers has a history, as `npm start` on host 1 alone does.
import { formatPosition, NIL_UUID, type GaleraPosition, type GraState } from './grastate';

export interface NodeStartState {
  name: string;
  /** The node answers right now as a member of a Primary component. */
  running: boolean;
  /** undefined: no grastate.dat (a datadir that never joined a cluster, or none at all). */
  grastate?: GraState;
  /** What `mariadbd --wsrep-recover` found, for a node whose grastate.dat says seqno -1. */
  recovered?: GaleraPosition;
  /** Nothing is known of it (its host's agent did not answer): `running` and the rest say nothing. */
  unknown?: boolean;
}

export type NodeAction =
  | { kind: 'running' }
  /**
   * Start with --wsrep-new-cluster; first write safe_to_bootstrap: 1 when markSafeToBootstrap; with
   * startPosition (a crashed node), also --wsrep-start-position=<it>, as galera_recovery does.
   */
  | { kind: 'bootstrap'; markSafeToBootstrap: boolean; startPosition?: string }
  /** Start with the cluster address; with startPosition, pass --wsrep-start-position=<it>. */
  | { kind: 'join'; startPosition?: string };

export type StartPlan =
  /** Run `mariadbd --wsrep-recover` on these (stopped, seqno -1) nodes, then decide again. */
  | { kind: 'recover-first'; nodes: string[]; reason: string }
  | { kind: 'start'; actions: Record<string, NodeAction>; bootstrap?: string; reason: string }
  /** Decide again once these nodes' states are known: none runs, and any of them may be the newest. */
  | { kind: 'wait'; nodes: string[]; reason: string }
  /** Nothing safe to do without a human: the reason says what is wrong. */
  | { kind: 'refuse'; reason: string };

/** A node that was part of a cluster (and so has data to keep), as opposed to a fresh or half-made one. */
function hasHistory(node: NodeStartState): boolean {
  return node.unknown !== true && node.grastate !== undefined && node.grastate.uuid !== NIL_UUID;
}

/** Crashed (seqno -1) and not yet recovered: its position is only in InnoDB. */
function needsRecovery(node: NodeStartState): boolean {
  return !node.running && hasHistory(node) && node.grastate?.seqno === -1 && node.recovered === undefined;
}

/** The node's best-known position; seqno -1 when nothing says more. */
function position(node: NodeStartState): GaleraPosition {
  const grastate = node.grastate;
  if (grastate === undefined) return { uuid: NIL_UUID, seqno: -1 };
  if (grastate.seqno >= 0) return { uuid: grastate.uuid, seqno: grastate.seqno };
  if (node.recovered !== undefined && node.recovered.uuid !== NIL_UUID && node.recovered.seqno >= 0)
    return node.recovered;
  return { uuid: grastate.uuid, seqno: -1 };
}

/** The recovered position to start from, when grastate.dat lost it (seqno -1). */
function startPosition(node: NodeStartState): string | undefined {
  if (!hasHistory(node) || node.grastate?.seqno !== -1) return undefined;
  const pos = position(node);
  return pos.seqno >= 0 ? formatPosition(pos) : undefined;
}

function joinAction(node: NodeStartState): NodeAction {
  const from = startPosition(node);
  return from === undefined ? { kind: 'join' } : { kind: 'join', startPosition: from };
}

function bootstrapAction(node: NodeStartState): NodeAction {
  const markSafeToBootstrap = node.grastate !== undefined && !node.grastate.safeToBootstrap;
  const from = startPosition(node);
  return from === undefined
    ? { kind: 'bootstrap', markSafeToBootstrap }
    : { kind: 'bootstrap', markSafeToBootstrap, startPosition: from };
}

export function planStart(nodes: readonly NodeStartState[]): StartPlan {
  if (nodes.length === 0) return { kind: 'refuse', reason: 'There are no nodes.' };
  const recover = nodes.filter(needsRecovery).map((node) => node.name);
  if (recover.length > 0) {
    return {
      kind: 'recover-first',
      nodes: recover,
      reason: `${recover.join(', ')} stopped without saving a position (seqno -1): run mariadbd --wsrep-recover first.`,
    };
  }

  const running = nodes.filter((node) => node.running && node.unknown !== true);
  if (running.length > 0) {
    const actions = Object.fromEntries(
      nodes.map((node): [string, NodeAction] => [
        node.name,
        running.includes(node) ? { kind: 'running' } : joinAction(node),
      ]),
    );
    return {
      kind: 'start',
      actions,
      reason: `${running.map((n) => n.name).join(', ')} running: every stopped node joins.`,
    };
  }

  const withHistory = nodes.filter(hasHistory);
  const unknown = nodes.filter((node) => node.unknown === true).map((node) => node.name);
  if (unknown.length > 0 && (withHistory.length > 0 || nodes[0]?.unknown === true)) {
    return {
      kind: 'wait',
      nodes: unknown,
      reason: `the state of ${unknown.join(', ')} is unknown (no answer from its host's agent) and no node is running: any of them may hold the newest commits.`,
    };
  }
  const uuids = [...new Set(withHistory.map((node) => position(node).uuid))];
  if (uuids.length > 1) {
    const which = withHistory.map((node) => `${node.name} ${formatPosition(position(node))}`).join(', ');
    return { kind: 'refuse', reason: `The nodes' states belong to different clusters (${which}); choose one by hand.` };
  }

  let chosen: NodeStartState;
  let reason: string;
  if (withHistory.length === 0) {
    chosen = nodes[0] as NodeStartState;
    const silent = unknown.length === 0 ? '' : ` (${unknown.join(', ')} not answering: a first start)`;
    reason = `No node has a cluster state${silent}: a new cluster, bootstrapped by ${chosen.name}.`;
  } else {
    // Highest seqno; ties: the node Galera marked safe_to_bootstrap, then the first.
    chosen = withHistory.reduce((best, node) => {
      const [a, b] = [position(node).seqno, position(best).seqno];
      if (a !== b) return a > b ? node : best;
      return node.grastate?.safeToBootstrap === true && best.grastate?.safeToBootstrap !== true ? node : best;
    });
    const seqnos = withHistory.map((node) => `${node.name} ${position(node).seqno}`).join(', ');
    reason = `No node is running; ${chosen.name} has the highest position (seqno ${seqnos}) and bootstraps.`;
  }
  const actions: Record<string, NodeAction> = {};
  for (const node of nodes) {
    actions[node.name] = node === chosen ? bootstrapAction(node) : joinAction(node);
  }
  return { kind: 'start', actions, bootstrap: chosen.name, reason };
}

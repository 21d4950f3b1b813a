// One node's start state as its host's health agent answers it (`GET /start-state` on the node's agent
// port), for the node runners of the other hosts (coordinate.ts): over several hosts (STACK_HOSTS) a
// runner cannot read another host's grastate.dat nor reach its socket, so it asks that host's agent.
// The agent reads its own node's files and status and sends what planStart() needs, nothing more:
//
//   {"node":"n2","running":false,"grastate":{"uuid":"5b7d...","seqno":42,"safeToBootstrap":false},
//    "recovered":null,"members":[]}
//
// Read-only, no secret in it (a cluster UUID, positions, addresses the topology file lists anyway); the
// asker trusts it as HAProxy trusts the same port's health answer (docs: keep the agent port between
// the stack's hosts). An answer that does not parse is no answer: the asker treats the node as unknown.
import http from 'node:http';
import type mysql from 'mysql2/promise';
import type { GaleraPosition, GraState } from './grastate';
import { nodeAddress, type GaleraNode } from './layout';
import { readGrastate, readRecoveredPosition } from './node-state';
import { judgeWsrep, readWsrepStatus, WSREP_VARIABLES } from './wsrep-status';

export const START_STATE_PATH = '/start-state';

export interface StartStateAnswer {
  node: string;
  /** Synced in a Primary component right now (the agent's 200). */
  running: boolean;
  /** null: no grastate.dat. */
  grastate: GraState | null;
  /** The position a `--wsrep-recover` saved (recovered-position), null when none is kept. */
  recovered: GaleraPosition | null;
  /** wsrep_incoming_addresses as the running node sees them (its members' client addresses); [] when not running. */
  members: string[];
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

function position(value: unknown, what: string): GaleraPosition {
  const v = value as Partial<GaleraPosition> | null;
  if (typeof v !== 'object' || v === null || typeof v.uuid !== 'string' || !UUID.test(v.uuid))
    throw new Error(`${what} has no valid uuid`);
  if (!Number.isInteger(v.seqno) || (v.seqno as number) < -1) throw new Error(`${what} has no valid seqno`);
  return { uuid: v.uuid, seqno: v.seqno as number };
}

/**
 * The answer of the agent asked about `expected`, checked field by field; throws on anything else (a
 * body of another node, another version, or not JSON), which the asker takes as no answer. Pure.
 */
export function parseStartStateAnswer(text: string, expected: string): StartStateAnswer {
  let body: Record<string, unknown>;
  try {
    body = JSON.parse(text) as Record<string, unknown>;
  } catch {
    throw new Error('the start state is not JSON');
  }
  if (typeof body !== 'object' || body === null) throw new Error('the start state is not an object');
  if (body.node !== expected) throw new Error(`the start state is of ${String(body.node)}, not ${expected}`);
  if (typeof body.running !== 'boolean') throw new Error('the start state has no running flag');
  let grastate: GraState | null = null;
  if (body.grastate !== null) {
    const safe = (body.grastate as { safeToBootstrap?: unknown } | undefined)?.safeToBootstrap;
    if (typeof safe !== 'boolean') throw new Error('grastate has no safeToBootstrap flag');
    grastate = { ...position(body.grastate, 'grastate'), safeToBootstrap: safe };
  }
  const recovered = body.recovered === null ? null : position(body.recovered, 'recovered');
  const members = body.members;
  if (!Array.isArray(members) || !members.every((m) => typeof m === 'string'))
    throw new Error('the start state has no members list');
  return { node: expected, running: body.running, grastate, recovered, members: members as string[] };
}

/** wsrep_incoming_addresses as a list (`a:1,b:2`; empty or `AUTO` entries left out). Pure. */
export function incomingAddresses(value: string | undefined): string[] {
  return (value ?? '')
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '' && entry !== 'AUTO');
}

/**
 * What the agent answers for its own node: the node's files on this host, and its status over `login`
 * (the agent's check account). A node that does not answer is not running; a grastate.dat that does not
 * parse (a node rewriting it, or a failed SST) rejects, and the agent says so with a 503.
 */
export async function readStartState(
  node: GaleraNode,
  login: mysql.ConnectionOptions,
  timeoutMs: number,
): Promise<StartStateAnswer> {
  const [grastate, recovered, status] = await Promise.all([
    readGrastate(node),
    readRecoveredPosition(node),
    readWsrepStatus(login, timeoutMs, [...WSREP_VARIABLES, 'wsrep_incoming_addresses']).catch(
      () => ({}) as Record<string, string>,
    ),
  ]);
  const running = judgeWsrep(status).ok;
  return {
    node: node.name,
    running,
    grastate: grastate ?? null,
    recovered: recovered ?? null,
    members: running ? incomingAddresses(status.wsrep_incoming_addresses) : [],
  };
}

/** Asks `node`'s agent (at its host's address) for its start state; rejects on no or a bad answer. */
export function askStartState(node: GaleraNode, timeoutMs: number): Promise<StartStateAnswer> {
  return new Promise((resolve, reject) => {
    const request = http.get(
      { host: nodeAddress(node), port: node.ports.agent, path: START_STATE_PATH, timeout: timeoutMs, agent: false },
      (response) => {
        let text = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => (text += chunk));
        response.on('end', () => {
          if (response.statusCode !== 200) {
            reject(new Error(`${node.name}'s agent answered ${response.statusCode}: ${text.trim().slice(0, 200)}`));
            return;
          }
          try {
            resolve(parseStartStateAnswer(text, node.name));
          } catch (error) {
            reject(error as Error);
          }
        });
        response.on('error', reject);
      },
    );
    request.on('timeout', () => request.destroy(new Error(`${node.name}'s agent did not answer in ${timeoutMs} ms`)));
    request.on('error', reject);
  });
}

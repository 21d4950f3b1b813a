// Galera's saved state (<datadir>/grastate.dat) and the position `mariadbd --wsrep-recover` logs: the two
// inputs of the restart decision (recovery-plan.ts). Pure text in, values out; the file I/O is in
// node-state.ts.
//
//   # GALERA saved state
//   version: 2.1
//   uuid:    5b7da98a-e9f2-11f1-acb2-e6b84ded841a
//   seqno:   -1
//   safe_to_bootstrap: 0
//
// A clean shutdown writes the last committed seqno; a running or SIGKILLed node has -1 (the position is
// then only in InnoDB, which --wsrep-recover reads). The last node of a cluster to stop cleanly has
// safe_to_bootstrap: 1; Galera refuses --wsrep-new-cluster on a node with 0.

/** The UUID of a node that never joined a cluster. */
export const NIL_UUID = '00000000-0000-0000-0000-000000000000';

export interface GaleraPosition {
  uuid: string;
  /** -1: unknown (the node did not stop cleanly, or never committed anything). */
  seqno: number;
}

export interface GraState extends GaleraPosition {
  safeToBootstrap: boolean;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function field(text: string, name: string): string | undefined {
  const match = new RegExp(`^\\s*${name}\\s*:\\s*(\\S+)\\s*$`, 'm').exec(text);
  return match?.[1];
}

/** Parses grastate.dat; throws on a file without a valid uuid and seqno (a missing file is the caller's case). */
export function parseGrastate(text: string): GraState {
  const uuid = field(text, 'uuid');
  const seqno = field(text, 'seqno');
  if (uuid === undefined || !UUID.test(uuid)) throw new Error(`grastate.dat has no valid uuid line:\n${text}`);
  if (seqno === undefined || !/^-?\d+$/.test(seqno)) throw new Error(`grastate.dat has no valid seqno line:\n${text}`);
  // Files written before Galera 3.19 have no safe_to_bootstrap line; Galera then treats the node as safe.
  const safe = field(text, 'safe_to_bootstrap');
  return { uuid: uuid.toLowerCase(), seqno: Number(seqno), safeToBootstrap: safe === undefined ? true : safe === '1' };
}

/** The same file with `safe_to_bootstrap: 1`, every other line as it was (the line is added when absent). */
export function markSafeToBootstrap(text: string): string {
  if (/^\s*safe_to_bootstrap\s*:/m.test(text)) return text.replace(/^(\s*safe_to_bootstrap\s*:\s*)\S*/m, '$11');
  return `${text.endsWith('\n') || text === '' ? text : `${text}\n`}safe_to_bootstrap: 1\n`;
}

/**
 * The position from a `mariadbd --wsrep-recover` error log: the last "WSREP: Recovered position:
 * uuid:seqno" line, or undefined when there is none (recovery failed; the log says why).
 */
export function parseRecoveredPosition(log: string): GaleraPosition | undefined {
  const matches = [...log.matchAll(/WSREP: Recovered position:\s+([0-9a-f-]{36}):(-?\d+)/gi)];
  const last = matches.at(-1);
  if (!last) return undefined;
  return { uuid: String(last[1]).toLowerCase(), seqno: Number(last[2]) };
}

export function formatPosition(position: GaleraPosition): string {
  return `${position.uuid}:${position.seqno}`;
}

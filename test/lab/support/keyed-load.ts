// Keyed writes and reads through one lab host's front door, from inside that host (the front doors listen
// on each host's 127.0.0.1; the test process cannot enter a namespace). The approach of
// test/galera/stack.test.ts's keyedLoad: `loops` concurrent loops each POST /todos with an Idempotency-Key,
// retried with the same key after a 503, a 504 or a timeout until acknowledged, then GET /todos. The
// client is a plain `node -e` script run with `ip netns exec`; it reports every outcome as a JSON line
// with its wall-clock time (Date.now(): the same clock as the test's), and stops when its stdin closes
// (a write being retried after a 504 or a timeout is still retried for up to 30 s: its outcome matters).
import type { ChildProcess } from 'node:child_process';
import type { Lab } from '../../../cluster/lab/network';

export const KEYED_CLIENT_SCRIPT = `
const [base, tag, loops] = process.argv.slice(1);
const out = (event) => process.stdout.write(JSON.stringify({ t: Date.now(), ...event }) + '\\n');
let stopping = 0;
process.stdin.on('end', () => (stopping = Date.now()));
process.stdin.on('error', () => (stopping = Date.now()));
process.stdin.resume();
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
async function loop(i) {
  let n = 0;
  while (!stopping) {
    const key = tag + '-' + i + '-' + n++ + '-' + Math.random().toString(16).slice(2, 10);
    for (;;) {
      let status = 0, code = '', id;
      try {
        const response = await fetch(base + '/todos', {
          method: 'POST',
          headers: { 'Content-Type': 'application/json', 'Idempotency-Key': key },
          body: JSON.stringify({ item: key }),
          signal: AbortSignal.timeout(20000),
        });
        status = response.status;
        const body = await response.json().catch(() => ({}));
        code = body.error || '';
        id = body.id;
      } catch (e) {
        code = e && e.name ? e.name : String(e);
      }
      if (status === 201) { out({ e: 'ack', key, id }); break; }
      out({ e: 'err', m: 'POST', s: status, c: code, key });
      const uncertain = status === 0 || status === 504;
      if (stopping && (!uncertain || Date.now() - stopping > 30000)) break;
      await sleep(100);
    }
    if (stopping) break;
    try {
      const response = await fetch(base + '/todos', { signal: AbortSignal.timeout(20000) });
      await response.arrayBuffer();
      if (response.status === 200) out({ e: 'read' });
      else out({ e: 'err', m: 'GET', s: response.status, c: '' });
    } catch (e) {
      out({ e: 'err', m: 'GET', s: 0, c: e && e.name ? e.name : String(e) });
    }
  }
}
Promise.all(Array.from({ length: Number(loops) }, (_, i) => loop(i))).then(() => out({ e: 'done' }));
`;

/** GETs /todos/<id> for each id, a few at a time, and prints a JSON line `{ "<id>": [status, item] }`. */
export const READ_IDS_SCRIPT = `
const [base, ...ids] = process.argv.slice(1);
const seen = {};
let next = 0;
async function reader() {
  while (next < ids.length) {
    const id = ids[next++];
    try {
      const response = await fetch(base + '/todos/' + id, { signal: AbortSignal.timeout(10000) });
      const body = await response.json().catch(() => ({}));
      seen[id] = [response.status, body.item];
    } catch (e) {
      seen[id] = [0, String(e)];
    }
  }
}
// A few at a time: every acknowledged write of a fault (over a thousand) in seconds, not a minute.
Promise.all(Array.from({ length: 8 }, reader)).then(() => console.log(JSON.stringify(seen)));
`;

export interface LoadEvent {
  /** Date.now() in the client when it had the outcome. */
  t: number;
  e: 'ack' | 'err' | 'read' | 'done';
  key?: string;
  id?: number;
  /** The request: POST or GET (errors only). */
  m?: string;
  /** HTTP status; 0 for a timeout or a socket error. */
  s?: number;
  /** The body's error code, or the exception's name. */
  c?: string;
}

export interface HostLoad {
  host: string;
  events: LoadEvent[];
  /** Closes the client's stdin and waits for it to end; resolves with its events. */
  stop: () => Promise<LoadEvent[]>;
}

/** Starts the keyed client in `host`, against its front door at `base`. */
export function startKeyedLoad(lab: Lab, host: string, base: string, tag: string, loops: number): HostLoad {
  const child: ChildProcess = lab.spawn(
    host,
    [process.execPath, '-e', KEYED_CLIENT_SCRIPT, base, `${tag}-${host}`, String(loops)],
    { stdio: ['pipe', 'pipe', 'pipe'] },
  );
  const events: LoadEvent[] = [];
  let rest = '';
  let stderr = '';
  child.stdout!.on('data', (data: Buffer) => {
    const lines = (rest + data.toString()).split('\n');
    rest = lines.pop() ?? '';
    for (const line of lines) if (line) events.push(JSON.parse(line) as LoadEvent);
  });
  child.stderr!.on('data', (data: Buffer) => (stderr += data.toString()));
  const closed = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('close', (code, signal) => resolve({ code, signal })),
  );
  return {
    host,
    events,
    stop: async () => {
      child.stdin!.end();
      const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
      const { code, signal } = await closed;
      clearTimeout(timer);
      // SIGKILL: the host was killed (Lab.kill ends every process of it, this client too).
      if (code !== 0 && signal !== 'SIGKILL') {
        throw new Error(`the keyed client in ${host} exited ${code ?? signal}: ${stderr.slice(-2000)}`);
      }
      return events;
    },
  };
}

/** GETs each id through `host`'s front door; returns id -> [status, item]. */
export function readIds(
  lab: Lab,
  host: string,
  base: string,
  ids: number[],
): Promise<Record<string, [number, string]>> {
  const child = lab.spawn(host, [process.execPath, '-e', READ_IDS_SCRIPT, base, ...ids.map(String)], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (data: Buffer) => (output += data.toString()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      if (code !== 0) reject(new Error(`reading ids in ${host} exited ${code}`));
      else resolve(JSON.parse(output) as Record<string, [number, string]>);
    });
  });
}

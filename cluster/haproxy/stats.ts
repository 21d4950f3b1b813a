// HAProxy's own view of its servers (the MySQL server and each worker behind the front door), read
// from the stats page's CSV export (`/stats;csv`, one row per proxy and server).
import type { StackSettings } from '../settings';

export interface HaproxyServerState {
  proxy: string;
  server: string;
  /** UP, DOWN, MAINT, `UP 1/2` while a check state changes, or `no check`. */
  status: string;
  sessions: number;
  queue: number;
}

/** Parses the CSV export; the header line starts with `# ` and names the columns. */
export function parseStatsCsv(csv: string): HaproxyServerState[] {
  const lines = csv.split('\n').filter((line) => line.trim() !== '');
  const header = (lines.shift() ?? '').replace(/^#\s*/, '').split(',');
  const column = (name: string) => header.indexOf(name);
  const [px, sv, st, scur, qcur] = ['pxname', 'svname', 'status', 'scur', 'qcur'].map(column);
  return lines
    .map((line) => line.split(','))
    .filter((cells) => cells[sv!] !== 'FRONTEND' && cells[sv!] !== 'BACKEND')
    .map((cells) => ({
      proxy: cells[px!] ?? '',
      server: cells[sv!] ?? '',
      status: cells[st!] ?? '',
      sessions: Number(cells[scur!] ?? 0),
      queue: Number(cells[qcur!] ?? 0),
    }));
}

export interface HaproxyFrontendState {
  proxy: string;
  /** Client connections open now, idle keep-alive ones included. */
  sessions: number;
  /** The frontend's maxconn. */
  limit: number;
}

/** The FRONTEND rows of the CSV export: each listener's open connections against its maxconn. */
export function parseFrontendStats(csv: string): HaproxyFrontendState[] {
  const lines = csv.split('\n').filter((line) => line.trim() !== '');
  const header = (lines.shift() ?? '').replace(/^#\s*/, '').split(',');
  const [px, sv, scur, slim] = ['pxname', 'svname', 'scur', 'slim'].map((name) => header.indexOf(name));
  return lines
    .map((line) => line.split(','))
    .filter((cells) => cells[sv!] === 'FRONTEND')
    .map((cells) => ({
      proxy: cells[px!] ?? '',
      sessions: Number(cells[scur!] ?? 0),
      limit: Number(cells[slim!] ?? 0),
    }));
}

/** The server rows, or undefined when HAProxy's stats page does not answer. */
export async function haproxyServerStates(
  settings: StackSettings,
  timeoutMs = 2000,
): Promise<HaproxyServerState[] | undefined> {
  const host = settings.haproxy.host === '0.0.0.0' ? '127.0.0.1' : settings.haproxy.host;
  try {
    const response = await fetch(`http://${host}:${settings.haproxy.statsPort}/stats;csv`, {
      signal: AbortSignal.timeout(timeoutMs),
    });
    if (!response.ok) return undefined;
    return parseStatsCsv(await response.text());
  } catch {
    return undefined;
  }
}

/**
 * The server the one-entry stick table of the Galera backend points at (`show table mysql` on the stats
 * socket: `0x..: key=127.0.0.1 use=0 exp=0 server_id=2 server_key=n2`): where new connections, and so
 * the writes, go. undefined when the socket does not answer or the table is empty (no connection yet).
 */
export async function stickTableServer(
  socketPath: string,
  backend = 'mysql',
  timeoutMs = 1000,
): Promise<string | undefined> {
  return parseStickTableServer((await haproxyCommand(socketPath, `show table ${backend}`, timeoutMs)) ?? '');
}

/** One command on HAProxy's runtime API (the stats socket); its answer, or undefined when it does not answer. */
export async function haproxyCommand(
  socketPath: string,
  command: string,
  timeoutMs = 1000,
): Promise<string | undefined> {
  const { createConnection } = await import('node:net');
  return new Promise((resolve) => {
    let text = '';
    let failed = false;
    const socket = createConnection(socketPath, () => socket.write(`${command}\n`));
    socket.setTimeout(timeoutMs, () => socket.destroy());
    socket.on('data', (chunk: Buffer) => (text += chunk.toString()));
    socket.on('error', () => (failed = true));
    socket.on('close', () => resolve(failed ? undefined : text));
  });
}

export function parseStickTableServer(text: string): string | undefined {
  const named = /server_key=(\S+)/.exec(text);
  if (named) return named[1];
  return undefined;
}

// Small programs the lab tests run inside the hosts: a TCP server that answers "pong", and a client
// that connects with a deadline and says what happened. Plain `node -e` scripts, so they need nothing
// but the Node binary running the tests.
import { readFileSync } from 'node:fs';

export const SERVER_SCRIPT = `
const [host, port] = process.argv.slice(1);
require('node:net')
  .createServer((socket) => socket.end('pong\\n'))
  .listen(Number(port), host, () => console.log('listening'));
`;

/** Prints "pong", "timeout" or the error code, and exits 0 only on "pong". */
export const CLIENT_SCRIPT = `
const [host, port, ms] = process.argv.slice(1);
const socket = require('node:net').connect(Number(port), host);
const done = (what) => { console.log(what); socket.destroy(); process.exit(what === 'pong' ? 0 : 1); };
socket.setTimeout(Number(ms), () => done('timeout'));
socket.on('data', (data) => done(String(data).trim()));
socket.on('error', (error) => done(error.code || error.message));
`;

/** Says "ready" and then outlives SIGTERM: only SIGKILL ends it. */
export const IGNORES_SIGTERM_SCRIPT = `
process.on('SIGTERM', () => undefined);
setInterval(() => undefined, 60000);
console.log('ready');
`;

/** True while the process exists and is not a zombie. */
export function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

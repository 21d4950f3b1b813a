// One access log line: a single JSON object per request, written to the worker's log (server/log/).
// Built as one template string with the fields in a fixed order: about a fifth of what JSON.stringify
// of the same object costs, on a path every request takes. Strings a client can influence (method,
// address) still go through JSON.stringify, so no value can break the line; the request id needs none
// (request-id.ts makes or keeps only ids of letters, digits and `._-`).

export interface AccessLogEntry {
  /** An ISO 8601 string (server/log/clock.ts's isoNow()), or a Date. */
  time: string | Date;
  worker: string;
  /** As requestIdOf() gives it (http/request-id.ts): nothing in it needs escaping. */
  requestId: string;
  method: string;
  /** The route template (`/todos/:id`) or `unmatched`, as in the HTTP metrics. */
  route: string;
  status: number;
  durationMs: number;
  /** Time spent waiting for a database connection; 0 when the request used none. */
  poolWaitMs: number;
  /** Response body bytes sent; null when unknown (a body streamed without Content-Length). */
  bytes: number | null;
  remote: string | undefined;
}

/** Milliseconds to one decimal: finer is noise at this scale, and shorter lines are cheaper to keep. */
function tenths(ms: number): number {
  return Math.round(ms * 10) / 10;
}

/** A JSON number: what JSON.stringify writes for it (null for NaN and the infinities). */
function num(value: number | null): string {
  return value !== null && Number.isFinite(value) ? String(value) : 'null';
}

// The worker's name, the method (Node's parser accepts only the methods it knows) and the route template
// take a few values per worker: each is encoded once, not on every line. Bounded all the same.
const ENCODED_MAX = 256;
const encoded = new Map<string, string>();

function jsonOfFew(value: string): string {
  let json = encoded.get(value);
  if (json === undefined) {
    json = JSON.stringify(value);
    if (encoded.size < ENCODED_MAX) encoded.set(value, json);
  }
  return json;
}

// The client's address, as its `,"remote":...` field: the same address on line after line (a keep-alive
// client, or every request when HAProxy's front door is the client), so the last one is kept.
let lastRemote: string | undefined;
let lastRemoteField = '';

function remoteField(remote: string | undefined): string {
  // JSON.stringify leaves an undefined property out; so does this.
  if (remote === undefined) return '';
  if (remote !== lastRemote) {
    lastRemote = remote;
    lastRemoteField = `,"remote":${JSON.stringify(remote)}`;
  }
  return lastRemoteField;
}

export function accessLogLine(entry: AccessLogEntry): string {
  const time = typeof entry.time === 'string' ? entry.time : entry.time.toISOString();
  return (
    `{"time":"${time}","level":"info","msg":"request","worker":${jsonOfFew(entry.worker)},` +
    `"requestId":"${entry.requestId}","method":${jsonOfFew(entry.method)},` +
    `"route":${jsonOfFew(entry.route)},"status":${entry.status},"durationMs":${num(tenths(entry.durationMs))},` +
    `"poolWaitMs":${num(tenths(entry.poolWaitMs))},"bytes":${num(entry.bytes)}${remoteField(entry.remote)}}\n`
  );
}

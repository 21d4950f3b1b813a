// One access log line: a single JSON object per request on stdout, which pm2 keeps in the worker's log.
// Built with one JSON.stringify of a fixed-shape object, so a line costs microseconds.

export interface AccessLogEntry {
  time: Date;
  worker: string;
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

export function accessLogLine(entry: AccessLogEntry): string {
  return `${JSON.stringify({
    time: entry.time.toISOString(),
    level: 'info',
    msg: 'request',
    worker: entry.worker,
    requestId: entry.requestId,
    method: entry.method,
    route: entry.route,
    status: entry.status,
    durationMs: tenths(entry.durationMs),
    poolWaitMs: tenths(entry.poolWaitMs),
    bytes: entry.bytes,
    remote: entry.remote,
  })}\n`;
}

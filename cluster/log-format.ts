// `npm run logs`' readable form of one log line. The workers' lines and the front door's are JSON
// (server/log/, haproxy/haproxy.cfg's log-format); everything else (mariadbd, Prometheus) is shown as
// it is, after the app's name.
//
//   21:19:24.733 kh-worker-8000 GET /todos/:id 200 3.4 ms (pool 0.2 ms) 47 B ec76b80f-2b9d-...
//   21:19:25.010 kh-worker-8000 ERROR request failed requestId=bug-7 method=GET path=/x
//       Error: a bug
//           at ...
//   21:19:24.731 kh-haproxy front-door GET /todos/1 200 -> kh-worker-8000 4 ms ec76b80f-... retries +1

export interface FormatOptions {
  /** ANSI colours (a terminal). */
  color: boolean;
}

type Json = Record<string, unknown>;

const COLORS = { red: 31, yellow: 33, dim: 2, cyan: 36 } as const;

function paint(options: FormatOptions, color: keyof typeof COLORS, text: string): string {
  return options.color ? `\u001b[${COLORS[color]}m${text}\u001b[0m` : text;
}

/** `21:19:24.733` of an ISO time; the text as it is when it is not one (HAProxy's own format). */
function clock(time: unknown): string {
  if (typeof time !== 'string') return '-';
  const match = /T(\d\d:\d\d:\d\d(?:\.\d+)?)/.exec(time);
  return match ? match[1]! : time;
}

function statusColor(status: unknown): keyof typeof COLORS | undefined {
  if (typeof status !== 'number') return undefined;
  return status >= 500 ? 'red' : status >= 400 ? 'yellow' : undefined;
}

function withColor(options: FormatOptions, color: keyof typeof COLORS | undefined, text: string): string {
  return color ? paint(options, color, text) : text;
}

function ms(value: unknown): string {
  return `${typeof value === 'number' ? value : '-'} ms`;
}

function accessLine(entry: Json, options: FormatOptions): string {
  const pool = typeof entry.poolWaitMs === 'number' && entry.poolWaitMs > 0 ? ` (pool ${ms(entry.poolWaitMs)})` : '';
  const bytes = typeof entry.bytes === 'number' ? `${entry.bytes} B` : '- B';
  return (
    `${clock(entry.time)} ${entry.worker} ${entry.method} ${entry.route} ` +
    `${withColor(options, statusColor(entry.status), String(entry.status))} ${ms(entry.durationMs)}${pool} ${bytes} ` +
    paint(options, 'dim', String(entry.requestId))
  );
}

function frontDoorLine(app: string, entry: Json, options: FormatOptions): string {
  const retries =
    entry.retries !== undefined && entry.retries !== '0' && entry.retries !== 0 ? ` retries ${entry.retries}` : '';
  return (
    `${clock(entry.time)} ${app} front-door ${entry.method} ${entry.path} ` +
    `${withColor(options, statusColor(entry.status), String(entry.status))} -> ${entry.server} ${ms(entry.durationMs)} ` +
    `${paint(options, 'dim', String(entry.requestId))}${retries}`
  );
}

const LEVEL_COLORS: Record<string, keyof typeof COLORS> = { fatal: 'red', error: 'red', warn: 'yellow' };
const SHOWN_APART = new Set(['time', 'level', 'msg', 'worker']);

function field(key: string, value: unknown): string {
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  return `${key}=${/^[^\s"=]*$/.test(text) ? text : JSON.stringify(text)}`;
}

function eventLine(app: string, entry: Json, options: FormatOptions): string {
  const level = String(entry.level ?? 'info');
  const multiline: string[] = [];
  const fields: string[] = [];
  for (const [key, value] of Object.entries(entry)) {
    if (SHOWN_APART.has(key)) continue;
    // A stack trace: on its own lines below, as it was printed.
    if (typeof value === 'string' && value.includes('\n')) multiline.push(...value.split('\n'));
    else fields.push(field(key, value));
  }
  const head = [
    clock(entry.time),
    String(entry.worker ?? app),
    withColor(options, LEVEL_COLORS[level], level.toUpperCase()),
    String(entry.msg ?? ''),
    ...fields,
  ].join(' ');
  return [head, ...multiline.map((line) => `    ${line}`)].join('\n');
}

/**
 * The readable form of `line` from the file of `app` (the pm2 app name), or undefined to leave it out:
 * in a worker's `.pm2.log`, the copies of its error lines (they are in its own log).
 */
export function formatLogLine(
  app: string,
  line: string,
  options: FormatOptions,
  { pm2Capture = false } = {},
): string | undefined {
  if (line.trim() === '') return undefined;
  let entry: unknown;
  try {
    entry = line.startsWith('{') ? JSON.parse(line) : undefined;
  } catch {
    entry = undefined;
  }
  if (entry === null || typeof entry !== 'object' || Array.isArray(entry)) {
    return `${paint(options, 'cyan', app)} | ${line}`;
  }
  const json = entry as Json;
  if (json.msg === 'request' && 'route' in json) return accessLine(json, options);
  if (json.proxy === 'front-door') return frontDoorLine(app, json, options);
  if (pm2Capture && 'level' in json && 'msg' in json) return undefined;
  if ('msg' in json || 'level' in json) return eventLine(app, json, options);
  return `${paint(options, 'cyan', app)} | ${line}`;
}

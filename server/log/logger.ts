// The worker's log: one JSON object per line, in its own file (LOG_DIR/<worker>.log, buffered, written
// asynchronously and rotated by size: rotating-file.ts) or on stdout when no folder is given. Never through pm2's stdout hook, which sends
// every line to the pm2 daemon as an IPC message (pm2 issues #1008, #1248, #4064). The access log writes
// its pre-built lines (http/access-log-line.ts) to the same destination; every other line (start-up,
// shutdown, errors) goes through pino, in the same shape: time, level, msg, worker, then its fields.
// Error and fatal lines, stack included, are also copied to stderr while the log is a file, so `pm2 logs`
// and pm2's own file for the worker show what went wrong without the request lines around it.
import pino, { type Logger } from 'pino';
import { isoNow } from './clock';
import { RotatingFile } from './rotating-file';

export interface LogFileOptions {
  path: string;
  maxBytes: number;
  keep: number;
}

/** A log line as the app hands it over (AppDeps.log): `{ level, msg, ...fields }`. */
export type LineLogger = (line: Record<string, unknown>) => void;

export interface WorkerLog {
  logger: Logger;
  /** The same logger taking `{ level, msg, ...fields }` objects. */
  line: LineLogger;
  /** Appends a finished line (newline included), e.g. an access line. */
  write(line: string): void;
  /** Opens the file again in place (SIGHUP after an outside tool moved it); no-op on stdout. */
  reopen(): void;
  /** Writes out what is buffered; for process exit. */
  flushSync(): void;
  /** The current file, or undefined when logging to stdout. */
  readonly path: string | undefined;
  /** Lines dropped because the disk did not keep up (always 0 on stdout). */
  readonly dropped: number;
}

const LEVELS = new Set(['fatal', 'error', 'warn', 'info', 'debug', 'trace']);
const ERROR_LEVEL = 50;

interface Sink {
  write(line: string): void;
  /** Hands a rare, important line to the disk now rather than with the next buffer. */
  flush(): void;
  flushSync(): void;
  reopen(): void;
  readonly dropped: number;
}

function stdoutSink(): Sink {
  // Synchronous for files and pipes on Linux: lines leave in order with anything else printed.
  return {
    write: (line) => void process.stdout.write(line),
    flush: () => undefined,
    flushSync: () => undefined,
    reopen: () => undefined,
    dropped: 0,
  };
}

function fileSink(options: LogFileOptions): Sink {
  const file = new RotatingFile(options);
  return {
    write: (line) => file.write(line),
    flush: () => file.flush(),
    flushSync: () => file.flushSync(),
    reopen: () => file.reopen(),
    get dropped() {
      return file.dropped;
    },
  };
}

export function openWorkerLog(options: { worker: string; file?: LogFileOptions }): WorkerLog {
  const sink = options.file ? fileSink(options.file) : stdoutSink();
  const copyErrorsToStderr = options.file !== undefined;
  // pino sets lastLevel on a destination that asks for it before each write.
  const destination = {
    [pino.symbols.needsMetadataGsym]: true as const,
    lastLevel: 0,
    lastTime: '',
    lastMsg: '',
    lastObj: {},
    lastLogger: undefined as unknown as Logger,
    write(line: string): void {
      sink.write(line);
      sink.flush();
      if (copyErrorsToStderr && this.lastLevel >= ERROR_LEVEL) process.stderr.write(line);
    },
  };
  const logger = pino(
    {
      base: { worker: options.worker },
      messageKey: 'msg',
      timestamp: () => `,"time":"${isoNow()}"`,
      formatters: { level: (label) => ({ level: label }) },
    },
    destination,
  );

  const line: LineLogger = ({ level, msg, time: _time, worker: _worker, ...fields }) => {
    const method = typeof level === 'string' && LEVELS.has(level) ? (level as pino.Level) : 'info';
    if (msg === undefined) logger[method](fields);
    else logger[method](fields, typeof msg === 'string' ? msg : String(msg));
  };

  return {
    logger,
    line,
    write: (text) => sink.write(text),
    reopen: () => sink.reopen(),
    flushSync: () => sink.flushSync(),
    path: options.file?.path,
    get dropped() {
      return sink.dropped;
    },
  };
}

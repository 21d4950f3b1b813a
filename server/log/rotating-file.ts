// A worker's log file: written through sonic-boom (pino's asynchronous, buffering writer), rotated by
// size, its total bounded. `worker.log` is always the current file; at maxBytes it becomes
// `worker.log.1`, the older ones shift up (`.1` -> `.2` ...) and the one past `keep` is deleted, so a
// worker's logs never exceed about maxBytes x (keep + 1), and `tail -F worker.log` (or `npm run logs`)
// follows across rotations. The writer reopens the path in place: lines written meanwhile are kept in
// its buffer and land in the new file, none is lost or written twice.
import fs from 'node:fs';
import SonicBoom from 'sonic-boom';

export interface RotatingFileOptions {
  /** The current file; rotated copies get `.1`, `.2`, ... appended. */
  path: string;
  /** Size at which the current file is rotated (LOG_MAX_BYTES). */
  maxBytes: number;
  /** Rotated files kept besides the current one (LOG_FILES). */
  keep: number;
  /**
   * Written once this much is buffered, or every flushIntervalMs, whichever comes first: under load a
   * write(2) carries dozens of lines; a quiet worker's line waits at most the interval.
   */
  bufferBytes?: number;
  flushIntervalMs?: number;
  /** Buffered text beyond which new lines are dropped (the disk stalls): the worker's memory stays bounded. */
  maxBufferedBytes?: number;
  /** Told once per problem (a failed write, lines dropped), never per line; stderr by default. */
  warn?: (message: string) => void;
}

const DEFAULT_BUFFER_BYTES = 4096;
const DEFAULT_FLUSH_INTERVAL_MS = 250;
const DEFAULT_MAX_BUFFERED_BYTES = 16 * 1024 * 1024;

export class RotatingFile {
  private readonly sonic: SonicBoom;
  /** Characters written to the current file (bytes for ASCII), counting what is still buffered for it. */
  private bytes = 0;
  /** The inode of the file the writer has open: another process (a worker being replaced) may rotate it. */
  private inode = -1;
  private reopening = false;
  private droppedLines = 0;
  private warnedDrop = false;
  private readonly warn: (message: string) => void;

  constructor(private readonly options: RotatingFileOptions) {
    if (!(options.maxBytes > 0)) throw new TypeError('RotatingFile: maxBytes must be a positive number.');
    if (!(options.keep >= 1)) throw new TypeError('RotatingFile: keep must be at least 1.');
    this.warn = options.warn ?? ((message) => process.stderr.write(`${message}\n`));
    this.sonic = new SonicBoom({
      dest: options.path,
      mkdir: true,
      // 0600 like everything in the state folder: a log names clients and requests.
      mode: 0o600,
      minLength: options.bufferBytes ?? DEFAULT_BUFFER_BYTES,
      periodicFlush: options.flushIntervalMs ?? DEFAULT_FLUSH_INTERVAL_MS,
      maxLength: options.maxBufferedBytes ?? DEFAULT_MAX_BUFFERED_BYTES,
    });
    this.sonic.on('ready', () => this.opened());
    this.sonic.on('drop', () => {
      this.droppedLines += 1;
      if (!this.warnedDrop) {
        this.warnedDrop = true;
        this.warn(`${options.path}: the disk does not keep up; log lines are being dropped.`);
      }
    });
    // A failed write must not crash the worker (an unhandled 'error' would): say so once and go on.
    this.sonic.on('error', (error: Error) => this.warn(`${options.path}: ${error.message}`));
  }

  get path(): string {
    return this.options.path;
  }

  /** Lines dropped because too much was buffered (a stalled disk). */
  get dropped(): number {
    return this.droppedLines;
  }

  write(line: string): void {
    this.sonic.write(line);
    this.bytes += line.length;
    if (this.bytes >= this.options.maxBytes && !this.reopening) this.rotate();
  }

  /** Opens the path again (after someone moved the file away, e.g. logrotate and SIGHUP); renames nothing. */
  reopen(): void {
    if (this.reopening) return;
    this.reopening = true;
    this.sonic.reopen();
  }

  /** Starts writing what is buffered now, without waiting for the buffer to fill (rare, important lines). */
  flush(): void {
    this.sonic.flush();
  }

  /** Writes what is buffered before the process exits. */
  flushSync(): void {
    try {
      this.sonic.flushSync();
    } catch {
      // Not open yet, or already closed: nothing can be written now.
    }
  }

  /** Flushes and closes the file. */
  end(): Promise<void> {
    return new Promise((resolve) => {
      this.sonic.once('close', () => resolve());
      this.sonic.end();
    });
  }

  private opened(): void {
    this.reopening = false;
    try {
      // The path the writer has just opened (sonic-boom does not expose its descriptor's type).
      const stat = fs.statSync(this.options.path);
      this.inode = stat.ino;
      // What an earlier process (or the one being replaced) left in it.
      this.bytes = stat.size;
    } catch {
      this.inode = -1;
    }
  }

  private rotate(): void {
    const { path, keep } = this.options;
    this.reopening = true;
    try {
      const current = fs.statSync(path, { throwIfNoEntry: false });
      // Still ours: shift the old files and move it to .1. Gone or replaced (another process rotated
      // it): only open the new one.
      if (current && current.ino === this.inode) {
        fs.rmSync(`${path}.${keep}`, { force: true });
        for (let n = keep - 1; n >= 1; n -= 1) renameIfPresent(`${path}.${n}`, `${path}.${n + 1}`);
        fs.renameSync(path, `${path}.1`);
      }
    } catch (error) {
      this.warn(`${path}: rotation failed: ${(error as Error).message}`);
    }
    this.bytes = 0;
    this.sonic.reopen();
  }
}

function renameIfPresent(from: string, to: string): void {
  try {
    fs.renameSync(from, to);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
}

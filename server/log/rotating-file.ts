// A worker's log file: lines buffered in memory and written asynchronously in large chunks, the file
// rotated by size with its total bounded. `worker.log` is always the current file; before a chunk would
// take it past maxBytes it becomes `worker.log.1`, the older ones shift up (`.1` -> `.2` ...) and the
// one past `keep` is deleted, so a worker's logs never exceed about maxBytes x (keep + 1), and
// `tail -F worker.log` (or `npm run logs`) follows across rotations.
//
// Not sonic-boom (pino's writer): its write() measures the UTF-8 length of everything still buffered
// on every call, which costs more per line the larger the buffer; and an asynchronous write costs tens
// of microseconds of CPU here whatever its size, so chunks must be large (measured: 4 KB chunks about
// 5 us per access line, 64 KB chunks about 1 us). At most one write is in flight; the buffer is bounded.
//
// Each line is copied into a Buffer as it is written, not kept as a string until the chunk is taken: an
// access line is a tree of string pieces (a template of a dozen parts), and a few hundred of them alive
// at every young-generation GC were copied by it, then moved to old space to wait for a full GC (the
// worker's scavenges took about twice as long as with ACCESS_LOG=0; issue 16 item 6, bench/README.md).
// In a Buffer a line is bytes outside the JS heap the moment it is written.
import fs from 'node:fs';
import path from 'node:path';

export interface RotatingFileOptions {
  /** The current file; rotated copies get `.1`, `.2`, ... appended. */
  path: string;
  /** Size the current file never exceeds by rotating first (LOG_MAX_BYTES). */
  maxBytes: number;
  /** Rotated files kept besides the current one (LOG_FILES). */
  keep: number;
  /** Written once this many bytes are buffered, or every flushIntervalMs, whichever comes first. */
  bufferChars?: number;
  flushIntervalMs?: number;
  /** Buffered bytes beyond which new lines are dropped (the disk stalls): memory stays bounded. */
  maxBufferedChars?: number;
  /** Told once per problem (a failed write, lines dropped), never per line; stderr by default. */
  warn?: (message: string) => void;
}

const DEFAULT_BUFFER_CHARS = 64 * 1024;
const DEFAULT_FLUSH_INTERVAL_MS = 250;
const DEFAULT_MAX_BUFFERED_CHARS = 16 * 1024 * 1024;

export class RotatingFile {
  private fd = -1;
  private ino = -1;
  /** Bytes in the current file. */
  private fileBytes = 0;
  /** Blocks already full, then `block` filled up to `used`: the bytes not yet written. */
  private full: Buffer[] = [];
  private block: Buffer | undefined;
  private used = 0;
  private pendingChars = 0;
  private writing = false;
  private reopenWanted = false;
  private droppedLines = 0;
  private dropping = false;
  private readonly timer: NodeJS.Timeout;
  private readonly warn: (message: string) => void;
  private readonly bufferChars: number;
  private readonly maxBufferedChars: number;

  constructor(private readonly options: RotatingFileOptions) {
    if (!(options.maxBytes > 0)) throw new TypeError('RotatingFile: maxBytes must be a positive number.');
    if (!(options.keep >= 1)) throw new TypeError('RotatingFile: keep must be at least 1.');
    this.warn = options.warn ?? ((message) => process.stderr.write(`${message}\n`));
    this.bufferChars = options.bufferChars ?? DEFAULT_BUFFER_CHARS;
    this.maxBufferedChars = options.maxBufferedChars ?? DEFAULT_MAX_BUFFERED_CHARS;
    fs.mkdirSync(path.dirname(options.path), { recursive: true });
    this.open();
    this.timer = setInterval(() => this.flush(), options.flushIntervalMs ?? DEFAULT_FLUSH_INTERVAL_MS);
    this.timer.unref();
  }

  get path(): string {
    return this.options.path;
  }

  /** Lines dropped because too much was buffered (a stalled disk). */
  get dropped(): number {
    return this.droppedLines;
  }

  write(line: string): void {
    if (this.pendingChars + line.length > this.maxBufferedChars) {
      this.droppedLines += 1;
      if (!this.dropping) {
        this.dropping = true;
        this.warn(`${this.options.path}: the disk does not keep up; log lines are being dropped.`);
      }
      return;
    }
    this.append(line);
    if (this.pendingChars >= this.bufferChars) this.flush();
  }

  /** Copies `line` (UTF-8) into the current block, starting a new one when it does not fit. */
  private append(line: string): void {
    // At most 3 bytes per UTF-16 unit: without measuring, a line of that size surely fits.
    let bytes = line.length * 3;
    if (!this.block || this.used + bytes > this.block.length) {
      bytes = Buffer.byteLength(line);
      if (!this.block || this.used + bytes > this.block.length) {
        if (this.block && this.used > 0) this.full.push(this.block.subarray(0, this.used));
        this.block = Buffer.allocUnsafe(Math.max(this.bufferChars, bytes));
        this.used = 0;
      }
    }
    const written = this.block.write(line, this.used);
    this.used += written;
    this.pendingChars += written;
  }

  /** Starts writing what is buffered now (rare, important lines; the timer does it otherwise). */
  flush(): void {
    if (this.writing || this.pendingChars === 0) return;
    const chunk = this.take();
    this.prepareFor(chunk.length);
    this.writing = true;
    this.writeChunk(chunk, 0);
  }

  /** Opens the path again once the current write is done (after an outside tool moved the file away). */
  reopen(): void {
    this.reopenWanted = true;
    if (!this.writing) this.prepareFor(0);
  }

  /** Writes what is buffered, synchronously: for process exit. */
  flushSync(): void {
    if (this.pendingChars === 0) return;
    const chunk = this.take();
    try {
      // Not while a write is in flight: its descriptor must stay open until it is done.
      if (!this.writing) this.prepareFor(chunk.length);
      fs.writeSync(this.fd, chunk);
      this.fileBytes += chunk.length;
    } catch {
      // Nothing more can be done while exiting.
    }
  }

  close(): void {
    clearInterval(this.timer);
    this.flushSync();
    if (this.fd >= 0 && !this.writing) fs.closeSync(this.fd);
  }

  private take(): Buffer {
    if (this.block && this.used > 0) this.full.push(this.block.subarray(0, this.used));
    const chunk = this.full.length === 1 ? this.full[0]! : Buffer.concat(this.full);
    // The written part now belongs to the chunk: the next line starts a new block.
    this.full = [];
    this.block = undefined;
    this.used = 0;
    this.pendingChars = 0;
    this.dropping = false;
    return chunk;
  }

  private open(): void {
    // 0600 like everything in the state folder: a log names clients and requests.
    this.fd = fs.openSync(this.options.path, 'a', 0o600);
    const stat = fs.fstatSync(this.fd);
    this.ino = stat.ino;
    this.fileBytes = stat.size;
  }

  /** Before `bytes` go out: rotates when they would take the file past maxBytes, reopens when asked. */
  private prepareFor(bytes: number): void {
    const rotate = this.fileBytes > 0 && this.fileBytes + bytes > this.options.maxBytes;
    if (!rotate && !this.reopenWanted) return;
    this.reopenWanted = false;
    try {
      if (rotate) this.rotate();
      fs.closeSync(this.fd);
      this.open();
    } catch (error) {
      this.warn(`${this.options.path}: could not rotate or reopen: ${(error as Error).message}`);
    }
  }

  private rotate(): void {
    const file = this.options.path;
    const current = fs.statSync(file, { throwIfNoEntry: false });
    // Another process writing the same file (a worker being replaced) rotated it already: only reopen.
    if (!current || current.ino !== this.ino) return;
    fs.rmSync(`${file}.${this.options.keep}`, { force: true });
    for (let n = this.options.keep - 1; n >= 1; n -= 1) renameIfPresent(`${file}.${n}`, `${file}.${n + 1}`);
    fs.renameSync(file, `${file}.1`);
  }

  private writeChunk(chunk: Buffer, from: number): void {
    fs.write(this.fd, chunk, from, chunk.length - from, null, (error, written) => {
      if (!error && from + written < chunk.length) {
        this.writeChunk(chunk, from + written);
        return;
      }
      if (error) this.warn(`${this.options.path}: ${error.message}`);
      else this.fileBytes += chunk.length;
      this.writing = false;
      if (this.reopenWanted) this.prepareFor(0);
      if (this.pendingChars >= this.bufferChars) this.flush();
    });
  }
}

function renameIfPresent(from: string, to: string): void {
  try {
    fs.renameSync(from, to);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
}

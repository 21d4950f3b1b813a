// Follows the stack's log files like `tail -F` over a folder: the current files (`name.log`, never the
// rotated `name.log.1` ...), new ones as they appear (a worker added), and each file across its
// rotations (the worker renames it away and opens a new one: the rest of the old one is read first,
// then the new one from its start) and truncations. Polls, so it works on any file system.
import fs from 'node:fs';
import path from 'node:path';
import { StringDecoder } from 'node:string_decoder';

export interface FollowOptions {
  /** Lines shown from the end of each file that exists at the start (tail -n). */
  tailLines: number;
  /** Which files to follow, by name (e.g. `kh-worker-8000.log`). */
  include?: (file: string) => boolean;
  onLine: (file: string, line: string) => void;
}

interface Tracked {
  fd: number;
  ino: number;
  offset: number;
  /** The text after the last newline read, kept until its line is complete. */
  partial: string;
  /** Keeps a character split between two reads whole. */
  decoder: StringDecoder;
}

const CHUNK = 64 * 1024;

/** Names of the current log files in `dir`: `*.log`, sorted. */
export function currentLogFiles(dir: string): string[] {
  try {
    return fs
      .readdirSync(dir)
      .filter((name) => name.endsWith('.log'))
      .sort();
  } catch {
    return [];
  }
}

/** Where reading should start so that the last `lines` lines of the file come out. */
function tailOffset(fd: number, size: number, lines: number): number {
  if (lines <= 0) return size;
  let start = size;
  let newlines = 0;
  const buffer = Buffer.alloc(CHUNK);
  while (start > 0) {
    const length = Math.min(CHUNK, start);
    start -= length;
    fs.readSync(fd, buffer, 0, length, start);
    // The file's last byte is normally the newline ending its last line: it does not start a line.
    for (let i = length - 1; i >= 0; i -= 1) {
      if (buffer[i] === 0x0a && start + i !== size - 1) {
        newlines += 1;
        if (newlines === lines) return start + i + 1;
      }
    }
  }
  return 0;
}

export class LogFollower {
  private readonly files = new Map<string, Tracked>();
  private started = false;

  constructor(
    private readonly dir: string,
    private readonly options: FollowOptions,
  ) {}

  /** Reads whatever is new in every followed file; call it again and again (every 250 ms or so). */
  poll(): void {
    const names = currentLogFiles(this.dir).filter((name) => this.options.include?.(name) ?? true);
    for (const name of names) {
      if (!this.files.has(name)) this.open(name, this.started ? 0 : undefined);
    }
    this.started = true;
    for (const [name, tracked] of this.files) {
      this.drain(name, tracked);
      let current: fs.Stats | undefined;
      try {
        current = fs.statSync(path.join(this.dir, name));
      } catch {
        current = undefined;
      }
      if (current === undefined || current.ino !== tracked.ino) {
        // Rotated (or deleted): what the writer put in the old file before switching, then the new one.
        this.drain(name, tracked);
        this.flushPartial(name, tracked);
        fs.closeSync(tracked.fd);
        this.files.delete(name);
        if (current !== undefined) {
          this.open(name, 0);
          this.drain(name, this.files.get(name)!);
        }
      } else if (current.size < tracked.offset) {
        tracked.offset = 0;
        tracked.partial = '';
        tracked.decoder = new StringDecoder('utf8');
      }
    }
  }

  close(): void {
    for (const tracked of this.files.values()) fs.closeSync(tracked.fd);
    this.files.clear();
  }

  /** `from`: a byte offset, or undefined for the last tailLines lines. */
  private open(name: string, from: number | undefined): void {
    let fd: number;
    try {
      fd = fs.openSync(path.join(this.dir, name), 'r');
    } catch {
      return;
    }
    const stat = fs.fstatSync(fd);
    const offset = from ?? tailOffset(fd, stat.size, this.options.tailLines);
    this.files.set(name, { fd, ino: stat.ino, offset, partial: '', decoder: new StringDecoder('utf8') });
  }

  private drain(name: string, tracked: Tracked): void {
    const buffer = Buffer.alloc(CHUNK);
    for (;;) {
      const n = fs.readSync(tracked.fd, buffer, 0, CHUNK, tracked.offset);
      if (n <= 0) return;
      tracked.offset += n;
      const text = tracked.partial + tracked.decoder.write(buffer.subarray(0, n));
      const lines = text.split('\n');
      tracked.partial = lines.pop()!;
      for (const line of lines) this.options.onLine(name, line);
    }
  }

  private flushPartial(name: string, tracked: Tracked): void {
    if (tracked.partial !== '') this.options.onLine(name, tracked.partial);
    tracked.partial = '';
  }
}

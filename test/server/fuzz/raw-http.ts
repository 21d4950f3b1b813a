// Raw HTTP/1.1 over a net.Socket, for requests that fetch/undici refuse to send (malformed framing, bytes
// that are not UTF-8, duplicate lengths): writes the exact bytes, reads until the server closes, and
// parses every response on the connection.
import net from 'node:net';

export interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
}

export interface RawExchange {
  /** Final (non-1xx) responses in order; interim 100 Continue answers are left out. */
  responses: RawResponse[];
  /** Bytes after the last response that do not parse as one (a cut-off answer). */
  trailing: Buffer;
  /** The server closed (FIN or reset) before `timeoutMs`. */
  closed: boolean;
  /** `stopWhen` was satisfied. */
  stopped: boolean;
  /** The socket error seen, if any (EPIPE or ECONNRESET while we were still writing). */
  error?: string;
  elapsedMs: number;
}

export interface RawSendOptions {
  /**
   * Half-close the connection this long after writing, unless an answer came first (the request is cut
   * off: the server sees its end). The wait lets a request that is complete after all be answered.
   */
  endAfterMs?: number;
  /** The first response answers a HEAD request: it has headers only. */
  firstIsHead?: boolean;
  /** Stop reading (and close) as soon as the responses so far satisfy this, instead of waiting for a close. */
  stopWhen?: (responses: RawResponse[]) => boolean;
  timeoutMs: number;
}

/** Writes `bytes` to host:port and collects everything the server sends until it closes the connection. */
export function sendRaw(port: number, bytes: Buffer, options: RawSendOptions): Promise<RawExchange> {
  const started = Date.now();
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let error: string | undefined;
    let settled = false;
    const socket = net.connect({ port, host: '127.0.0.1' });
    const finish = (closed: boolean, stopped = false) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      const { responses, trailing } = parseResponses(Buffer.concat(chunks), options.firstIsHead ?? false);
      resolve({ responses, trailing, closed, stopped, error, elapsedMs: Date.now() - started });
    };
    const timer = setTimeout(() => finish(false), options.timeoutMs);
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      if (options.stopWhen?.(parseResponses(Buffer.concat(chunks), options.firstIsHead ?? false).responses))
        finish(false, true);
    });
    socket.on('error', (err: NodeJS.ErrnoException) => {
      error ??= err.code ?? err.message;
    });
    socket.on('close', () => finish(true));
    socket.once('connect', () => {
      socket.write(bytes);
      if (options.endAfterMs !== undefined) {
        const end = setTimeout(() => socket.end(), options.endAfterMs);
        const endOnAnswer = () => {
          if (parseResponses(Buffer.concat(chunks), options.firstIsHead ?? false).responses.length === 0) return;
          clearTimeout(end);
          socket.off('data', endOnAnswer);
          socket.end();
        };
        socket.on('data', endOnAnswer);
        socket.once('close', () => clearTimeout(end));
      }
    });
  });
}

function headerBlockEnd(data: Buffer, from: number): number {
  const end = data.indexOf('\r\n\r\n', from, 'latin1');
  return end < 0 ? -1 : end + 4;
}

/** Reads a chunked body starting at `from`; returns the offset after it, or -1 if it is incomplete. */
function skipChunked(data: Buffer, from: number): { end: number; body: Buffer } | undefined {
  const parts: Buffer[] = [];
  let at = from;
  for (;;) {
    const lineEnd = data.indexOf('\r\n', at, 'latin1');
    if (lineEnd < 0) return undefined;
    const size = Number.parseInt(data.subarray(at, lineEnd).toString('latin1').split(';')[0]!.trim(), 16);
    if (!Number.isFinite(size)) return undefined;
    at = lineEnd + 2;
    if (size === 0) {
      // Trailers (none from this server), then the empty line.
      const end = data.indexOf('\r\n', at, 'latin1');
      if (end < 0) return undefined;
      return { end: end + 2, body: Buffer.concat(parts) };
    }
    if (at + size + 2 > data.length) return undefined;
    parts.push(data.subarray(at, at + size));
    at += size + 2;
  }
}

/**
 * Splits the bytes a server sent into responses. Bodies are framed by Content-Length or chunked encoding;
 * 1xx, 204 and 304 have none, nor has the answer to a HEAD (only the first response can be one here).
 */
export function parseResponses(data: Buffer, firstIsHead: boolean): { responses: RawResponse[]; trailing: Buffer } {
  const responses: RawResponse[] = [];
  let at = 0;
  let finals = 0;
  while (at < data.length) {
    const headEnd = headerBlockEnd(data, at);
    if (headEnd < 0) break;
    const lines = data
      .subarray(at, headEnd - 4)
      .toString('latin1')
      .split('\r\n');
    const statusLine = /^HTTP\/1\.[01] (\d{3})(?: .*)?$/.exec(lines[0] ?? '');
    if (!statusLine) break;
    const status = Number(statusLine[1]);
    const headers: Record<string, string> = {};
    for (const line of lines.slice(1)) {
      const colon = line.indexOf(':');
      if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
    }
    let bodyEnd = headEnd;
    let body: Buffer = Buffer.alloc(0);
    const bodiless = status < 200 || status === 204 || status === 304 || (firstIsHead && finals === 0);
    if (!bodiless) {
      if (/chunked/i.test(headers['transfer-encoding'] ?? '')) {
        const chunked = skipChunked(data, headEnd);
        if (!chunked) break;
        bodyEnd = chunked.end;
        body = chunked.body;
      } else if (headers['content-length'] !== undefined) {
        bodyEnd = headEnd + Number(headers['content-length']);
        if (bodyEnd > data.length) break;
        body = data.subarray(headEnd, bodyEnd);
      } else {
        // Delimited by the close of the connection.
        bodyEnd = data.length;
        body = data.subarray(headEnd);
      }
    }
    at = bodyEnd;
    if (status >= 200) {
      finals += 1;
      responses.push({ status, headers, body });
    }
  }
  return { responses, trailing: data.subarray(at) };
}

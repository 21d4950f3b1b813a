// Stopping an HTTP server without failing a request of a keep-alive client. Node's server.close()
// (v19+) also closes every idle keep-alive connection at once, and a client that sends its next
// request in that instant gets a reset: during a rolling reload under load, that is a socket error
// per busy connection. Instead the server stops accepting, answers each further request on an open
// connection with `Connection: close` (the client then closes it cleanly and reconnects, reaching the
// worker that replaces this one), and only closes connections that stayed idle for a grace period.
import net from 'node:net';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';

export interface DrainOptions {
  /** How long an idle keep-alive connection gets to send one more request before it is closed. */
  idleGraceMs: number;
  /** After this long, every connection is closed, in-flight requests or not. */
  timeoutMs: number;
  onTimeout?: () => void;
}

/** Tracks responses not yet started, so a drain can mark them `Connection: close` too. */
export function trackResponses(server: Server): () => Iterable<ServerResponse> {
  const open = new Set<ServerResponse>();
  server.on('request', (_req: IncomingMessage, res: ServerResponse) => {
    open.add(res);
    res.once('close', () => open.delete(res));
  });
  return () => open;
}

/** Resolves once every connection is closed; the listening socket is closed at once. */
export function drainHttpServer(server: Server, openResponses: () => Iterable<ServerResponse>, options: DrainOptions): Promise<void> {
  const markClose = (res: ServerResponse) => {
    if (!res.headersSent) res.setHeader('Connection', 'close');
  };
  for (const res of openResponses()) markClose(res);
  server.on('request', (_req: IncomingMessage, res: ServerResponse) => markClose(res));
  return new Promise((resolve) => {
    let sweep: NodeJS.Timeout | undefined;
    const grace = setTimeout(() => {
      server.closeIdleConnections();
      sweep = setInterval(() => server.closeIdleConnections(), 100);
    }, options.idleGraceMs);
    const force = setTimeout(() => {
      options.onTimeout?.();
      server.closeAllConnections();
    }, options.timeoutMs);
    force.unref();
    // net.Server's close, not http.Server's: stop accepting without closing idle connections yet.
    net.Server.prototype.close.call(server, () => {
      clearTimeout(grace);
      clearTimeout(force);
      if (sweep) clearInterval(sweep);
      resolve();
    });
  });
}

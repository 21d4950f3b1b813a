// Stopping an HTTP server without failing a request of a keep-alive client. Node's server.close()
// (v19+) also closes every idle keep-alive connection at once, and a client that sends its next
// request in that instant gets a reset: during a rolling reload under load, that is a socket error
// per busy connection. Instead the server stops accepting, answers each further request on an open
// connection with `Connection: close` (the client then closes it cleanly and reconnects, reaching the
// worker that replaces this one), and only closes connections that stayed idle for a grace period.
//
// Pipelined requests: Node parses a connection ahead of its answers and emits 'request' for each
// request as soon as it is read, so a handler runs while the answers before it are still pending. Once
// an earlier answer carries `Connection: close`, Node ends the connection after it and never writes
// the later answers, whose handlers ran all the same: a POST written, its client told nothing (and a
// client that retries writes twice). RFC 9112 section 9.6: a server that closes must not process
// further requests on that connection. So the requests of one connection reach the app one at a time,
// each once the previous answer is done, and those left when the connection is ending are dropped
// unrun.
import net from 'node:net';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';

export interface DrainOptions {
  /** How long an idle keep-alive connection gets to send one more request before it is closed. */
  idleGraceMs: number;
  /** After this long, every connection is closed, in-flight requests or not. */
  timeoutMs: number;
  onTimeout?: () => void;
}

export interface ServedRequests {
  /** Responses of requests handed to the app and not yet closed. */
  open(): Iterable<ServerResponse>;
  /**
   * The responses of `socket` not yet closed, in order: the one being answered, then those waiting their
   * turn (client-error.ts waits for these before refusing what follows them).
   */
  pendingOn(socket: net.Socket): ServerResponse[];
  /** From now on, every request handed to the app is answered with `Connection: close`. */
  closeEach(): void;
  /** Requests never run because their connection was closing when their turn came. */
  readonly dropped: number;
}

type Request = [IncomingMessage, ServerResponse];

/** A connection's answer in progress and the requests read behind it, kept as long as the socket lives. */
interface Connection {
  current: ServerResponse | undefined;
  waiting: Request[];
}

function markClose(res: ServerResponse): void {
  if (!res.headersSent) res.setHeader('Connection', 'close');
}

/**
 * Takes over the server's 'request' listeners registered so far (the app's) and hands them the
 * requests of each connection in order, one at a time (see the top of this file). Call it before any
 * other 'request' listener is added: those see every request as Node parses it.
 */
export function trackResponses(server: Server): ServedRequests {
  const handlers = server.listeners('request') as ((req: IncomingMessage, res: ServerResponse) => void)[];
  server.removeAllListeners('request');
  const open = new Set<ServerResponse>();
  // One entry per connection, not per request: a keep-alive connection's requests allocate nothing here.
  const connections = new WeakMap<net.Socket, Connection>();
  let closing = false;
  let dropped = 0;

  const next = (socket: net.Socket, connection: Connection) => {
    connection.current = undefined;
    const following = connection.waiting.shift();
    if (!following) return;
    // The previous answer closed the connection (`Connection: close`, or the client went away): Node
    // writes nothing more on it, so nothing more runs.
    if (socket.destroyed || socket.writableEnded) {
      dropped += connection.waiting.length + 1;
      connection.waiting = [];
      return;
    }
    run(socket, connection, following);
  };

  const run = (socket: net.Socket, connection: Connection, [req, res]: Request) => {
    connection.current = res;
    open.add(res);
    // 'close' comes after the answer is handed to the socket, or when the connection died before. on(),
    // not once(): a response closes once, and once() wraps each listener in a closure of its own.
    res.on('close', () => {
      open.delete(res);
      next(socket, connection);
    });
    if (closing) markClose(res);
    for (const handler of handlers) handler.call(server, req, res);
  };

  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const socket = req.socket;
    let connection = connections.get(socket);
    if (!connection) connections.set(socket, (connection = { current: undefined, waiting: [] }));
    if (connection.current) {
      connection.waiting.push([req, res]);
      return;
    }
    run(socket, connection, [req, res]);
  });

  return {
    open: () => open,
    pendingOn: (socket) => {
      const connection = connections.get(socket);
      if (!connection?.current) return [];
      return [connection.current, ...connection.waiting.map(([, res]) => res)];
    },
    closeEach: () => {
      closing = true;
      for (const res of open) markClose(res);
    },
    get dropped() {
      return dropped;
    },
  };
}

/** Resolves once every connection is closed; the listening socket is closed at once. */
export function drainHttpServer(server: Server, requests: ServedRequests, options: DrainOptions): Promise<void> {
  requests.closeEach();
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

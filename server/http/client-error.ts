// Requests Node's HTTP parser refuses before Koa sees them (a malformed method, headers over 16 KB):
// answered with the same JSON error shape as everything else instead of Node's empty 400/431.
import type { IncomingMessage, Server } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { ServedRequests } from './drain';

/** After its error answer, a connection is still read (and what comes is dropped) this long at most. */
const LINGER_MS = 5_000;

function reply(socket: Duplex, status: number, reason: string, body: Record<string, string>): void {
  const text = JSON.stringify(body);
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/json; charset=utf-8\r\n` +
      `Content-Length: ${Buffer.byteLength(text)}\r\nConnection: close\r\n\r\n${text}`,
  );
  setTimeout(() => socket.destroy(), LINGER_MS).unref();
}

/**
 * `requests`: the server's trackResponses() (drain.ts), which already follows each connection's
 * responses, so this adds nothing to a request that Node parsed.
 */
export function answerClientErrorsAsJson(server: Server, requests: Pick<ServedRequests, 'pendingOn'>): void {
  // The responses still to be written on a connection: bytes the parser refuses after complete
  // requests (a bad pipelined request, anything after `Connection: close`) must not replace their
  // answers with a 400: their handlers run anyway, and a POST's row would be written behind a refusal.
  const refused = new WeakSet<Duplex>();

  server.on('clientError', (error: NodeJS.ErrnoException, socket: Duplex) => {
    // The parser reports the error again for every further chunk: the first is answered, the rest of
    // what the client sends is read and dropped. Closing with unread bytes would reset the connection,
    // and a client still sending its body would lose the answer.
    if (refused.has(socket)) return;
    // A reset or timed-out socket has nobody to answer.
    if (error.code === 'ECONNRESET' || !socket.writable) {
      socket.destroy();
      return;
    }
    refused.add(socket);
    const answer = () => {
      // Node is already closing it (the last answer carried `Connection: close`).
      if (!socket.writable) return;
      if (error.code === 'HPE_HEADER_OVERFLOW') {
        reply(socket, 431, 'Request Header Fields Too Large', {
          error: 'headers_too_large',
          message: 'The request line and headers are larger than 16 KB.',
        });
      } else {
        reply(socket, 400, 'Bad Request', { error: 'bad_request', message: 'The request is not valid HTTP.' });
      }
    };
    const complete = requests.pendingOn(socket as Socket).filter((res) => res.req.complete);
    if (complete.length === 0) {
      answer();
      return;
    }
    void Promise.all(complete.map((res) => new Promise((resolve) => res.once('close', resolve)))).then(answer);
  });

  // CONNECT never reaches Koa, and without a listener Node closes the connection unanswered.
  server.on('connect', (_req: IncomingMessage, socket: Duplex) => {
    socket.on('error', () => socket.destroy());
    reply(socket, 501, 'Not Implemented', {
      error: 'not_implemented',
      message: 'CONNECT is not supported by this server.',
    });
  });
}

// Requests Node's HTTP parser refuses before Koa sees them (a malformed method, headers over 16 KB):
// answered with the same JSON error shape as everything else instead of Node's empty 400/431.
import type { Server } from 'node:http';
import type { Duplex } from 'node:stream';

function reply(socket: Duplex, status: number, reason: string, body: Record<string, string>): void {
  const text = JSON.stringify(body);
  socket.end(`HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/json; charset=utf-8\r\n`
    + `Content-Length: ${Buffer.byteLength(text)}\r\nConnection: close\r\n\r\n${text}`);
}

export function answerClientErrorsAsJson(server: Server): void {
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Duplex) => {
    // A reset or timed-out socket has nobody to answer.
    if (error.code === 'ECONNRESET' || !socket.writable) {
      socket.destroy();
      return;
    }
    if (error.code === 'HPE_HEADER_OVERFLOW') {
      reply(socket, 431, 'Request Header Fields Too Large',
        { error: 'headers_too_large', message: 'The request line and headers are larger than 16 KB.' });
    } else {
      reply(socket, 400, 'Bad Request', { error: 'bad_request', message: 'The request is not valid HTTP.' });
    }
  });
}

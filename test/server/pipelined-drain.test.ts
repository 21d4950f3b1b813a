// Pipelined requests and a stopping worker (RFC 9112 section 9.6): once the worker answers a connection
// with `Connection: close`, the requests pipelined behind that answer are never run, so a POST the client
// got no answer for wrote nothing and can be retried. A real worker, MariaDB and HAProxy; raw sockets.
import net from 'node:net';
import { expect } from 'chai';
import type { RowDataPacket } from 'mysql2/promise';
import { sharedStack } from '../support/stack';
import { waitFor } from '../support/wait';

function postTodo(item: string): string {
  const body = JSON.stringify({ item });
  return `POST /todos HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
}

/** Writes `requests` in one go on a new connection; resolves with everything read until the worker closes it. */
function pipeline(port: number, requests: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => socket.write(requests.join('')));
    let text = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => (text += chunk));
    socket.on('close', () => resolve(text));
    socket.on('error', reject);
    socket.setTimeout(20_000, () => socket.destroy(new Error(`no close within 20 s; read so far:\n${text}`)));
  });
}

const statusLines = (text: string) => [...text.matchAll(/HTTP\/1\.1 (\d{3}) /g)].map((m) => Number(m[1]));

describe('a worker stopping with pipelined requests in its connections', function () {
  this.timeout(60_000);

  // The shared stack's table must hold only the seed for the next file (routes.test.ts reads it whole).
  after(async () => {
    const admin = await (await sharedStack()).admin();
    try {
      await admin.query("DELETE FROM todos WHERE item LIKE 'pl-%' OR item LIKE 'pd-%'");
    } finally {
      await admin.end();
    }
  });

  it('answers pipelined requests in order, one after the other, while it runs', async () => {
    const stack = await sharedStack();
    const tag = `pl-${Date.now()}`;
    const requests = [0, 1, 2].flatMap((i) => [postTodo(`${tag}-${i}`), 'GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n']);
    const reply = await pipeline(stack.workers[0]!.port, [
      ...requests,
      'GET /healthz HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n',
    ]);
    expect(statusLines(reply), reply).to.deep.equal([201, 200, 201, 200, 201, 200, 200]);
  });

  it('runs none of the POSTs pipelined behind the answer that closes the connection: every unanswered POST wrote no row', async () => {
    const stack = await sharedStack();
    const worker = await stack.addWorker();
    const tag = `pd-${Date.now()}`;
    const connections = [0, 1, 2];
    // Each connection: a request in flight when the worker is told to stop, then three POSTs behind it.
    const items = connections.map((c) => [0, 1, 2].map((i) => `${tag}-${c}-${i}`));
    const replies = Promise.all(
      connections.map((c) =>
        pipeline(worker.port, ['GET /sleep/1 HTTP/1.1\r\nHost: t\r\n\r\n', ...items[c]!.map(postTodo)]),
      ),
    );
    const admin = await stack.admin();
    try {
      await waitFor(
        "a SLEEP running on the worker's connection",
        async () => {
          const [rows] = await admin.query<RowDataPacket[]>(
            "SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST WHERE INFO LIKE 'SELECT SLEEP%'",
          );
          return Number(rows[0]!.n) > 0 ? true : undefined;
        },
        10_000,
      );
      await worker.stop('SIGTERM');
      const answered = (await replies).map(statusLines);
      const [rows] = await admin.query<RowDataPacket[]>('SELECT item FROM todos WHERE item LIKE ?', [`${tag}-%`]);
      const written = new Set(rows.map((row) => row.item as string));
      // The first answer of each connection is its /sleep, with `Connection: close`; what follows it was not answered.
      const unansweredButWritten = connections.flatMap((c) =>
        items[c]!.filter((item, i) => i + 1 >= answered[c]!.length && written.has(item)),
      );
      const unanswered = connections.reduce(
        (sum, c) => sum + items[c]!.length - Math.max(0, answered[c]!.length - 1),
        0,
      );
      expect(unanswered, 'POSTs left unanswered by the stopping worker').to.be.above(0);
      expect(unansweredButWritten).to.deep.equal([]);
      // And every POST that was answered 201 did write its row.
      for (const c of connections) {
        answered[c]!.slice(1).forEach((status, i) =>
          expect(status === 201 && written.has(items[c]![i]!), `${items[c]![i]} answered ${status}`).to.equal(true),
        );
      }
    } finally {
      await admin.end();
    }
  });
});

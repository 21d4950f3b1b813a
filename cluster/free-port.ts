// A TCP port nothing listens on right now (the kernel picks it: bind to port 0, then close), for test
// and benchmark stacks that must stay clear of a running stack on the default ports. There is a small
// window before the caller binds it, which they accept. The kernel may hand the same port out twice in a
// row (seen in CI: a worker port and HTTP_PORT alike, which the settings refuse), so a process is never
// given the same port twice.
import net from 'node:net';

const handedOut = new Set<number>();

export async function freePort(host = '127.0.0.1'): Promise<number> {
  for (let attempt = 0; attempt < 100; attempt += 1) {
    const port = await kernelPort(host);
    if (!handedOut.has(port)) {
      handedOut.add(port);
      return port;
    }
  }
  throw new Error('The kernel kept handing out ports this process was already given.');
}

function kernelPort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, host, () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => (port > 0 ? resolve(port) : reject(new Error('The kernel did not assign a port.'))));
    });
  });
}

/** Whether nothing listens on `port` right now. */
export function portIsFree(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen(port, host, () => server.close(() => resolve(true)));
  });
}

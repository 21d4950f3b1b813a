// Before pm2 starts an app, its ports must be free: a worker started on a port another process holds
// exits with EADDRINUSE, pm2 restarts it over and over, and a readiness probe may even reach the other
// listener and report nonsense. So `npm start` checks first and names the process holding each port
// (each app's ports, with the setting that chose each, are in cluster/apps.ts).
import { spawnSync } from 'node:child_process';
import net from 'node:net';
import type { PortClaim } from './apps';
import { findSystemBinary } from './system-packages';

function canListen(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen({ host, port, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/** `python3 (pid 1234)` for the process listening on `port`, from `ss`; undefined when it cannot tell. */
export function listenerOf(port: number): string | undefined {
  const ss = findSystemBinary('ss');
  if (ss === undefined) return undefined;
  const result = spawnSync(ss, ['-H', '-ltnp', `sport = :${port}`], { encoding: 'utf8' });
  const match = /users:\(\("([^"]+)",pid=(\d+)/.exec(result.stdout ?? '');
  return match ? `${match[1]} (pid ${match[2]})` : undefined;
}

/** One sentence per port that is taken, for the apps about to start. */
export async function takenPorts(claims: PortClaim[]): Promise<string[]> {
  const problems: string[] = [];
  for (const claim of claims) {
    if (await canListen(claim.host, claim.port)) continue;
    const owner = listenerOf(claim.port);
    problems.push(
      `Port ${claim.port} (${claim.setting}, for ${claim.app}) is already in use${owner ? ` by ${owner}` : ''}: ` +
        `stop that process or choose another port with ${claim.setting}.`,
    );
  }
  return problems;
}

// Running the stack's own commands (pm2, npm start/stop/status/reload) as a user would, each test stack
// with an isolated PM2_HOME, its own state folder (so its own embedded MariaDB) and free ports. Nothing
// here touches a pm2 or database already running on the machine.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '../../cluster/free-port';
import { runNode, type NodeRun } from '../../cluster/run-node';

export const PM2_BIN = path.join(path.dirname(require.resolve('pm2/package.json')), 'bin', 'pm2');
export const TSX_BIN = path.join(path.dirname(require.resolve('tsx/package.json')), 'dist', 'cli.mjs');

export type Run = NodeRun;

/** Runs `node <args>` in the project root and collects stdout and stderr together. */
export function run(args: string[], env: NodeJS.ProcessEnv, timeoutMs = 150_000): Promise<Run> {
  return runNode(args, env, timeoutMs);
}

export interface IsolatedEnv {
  env: NodeJS.ProcessEnv;
  ports: number[];
  home: string;
}

/** A private PM2_HOME, STACK_DIR, STACK_NAME and (empty) .env, and free ports for every listener. */
export async function isolatedEnv(name: string, workers = 2): Promise<IsolatedEnv> {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), `kh-${name}-`));
  // Each port is free when asked, but the kernel may hand the same one out twice in a row: draw until
  // every listener has its own (the settings refuse two parts on one port).
  const taken = new Set<number>();
  const distinctFreePort = async (): Promise<number> => {
    for (;;) {
      const port = await freePort();
      if (!taken.has(port)) return (taken.add(port), port);
    }
  };
  const ports: number[] = [];
  for (let i = 0; i < workers; i += 1) ports.push(await distinctFreePort());
  // An empty .env of its own: a developer's .env in the project root never leaks into a test's stack.
  const envFile = path.join(home, '.env');
  fs.writeFileSync(envFile, '');
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    STACK_ENV_FILE: envFile,
    PM2_HOME: path.join(home, 'pm2'),
    STACK_DIR: path.join(home, 'stack'),
    STACK_NAME: name,
    WORKER_PORTS: ports.join(','),
    HAPROXY_PORT: String(await distinctFreePort()),
    HAPROXY_STATS_PORT: String(await distinctFreePort()),
    HTTP_PORT: String(await distinctFreePort()),
    MYSQL_PORT: String(await distinctFreePort()),
  };
  return { env, ports, home };
}

export interface Pm2App {
  name: string;
  pid: number;
  pm2_env: { status: string; restart_time: number; exec_mode: string };
}

/** `pm2 jlist` of the isolated pm2. */
export async function jlist(env: NodeJS.ProcessEnv): Promise<Pm2App[]> {
  const listed = await run([PM2_BIN, 'jlist'], env);
  return JSON.parse(listed.output.trim().split('\n').pop()!) as Pm2App[];
}

// Starts the peer (bench/peer/app.ts) as a user would run it: plain `node app.js`, one process, no pm2.
// The TypeScript is transpiled once into `dir` (as our workers are built to dist/), so no TypeScript
// loader sits in its memory either; NODE_PATH lets it find the project's node_modules from there.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import ts from 'typescript';
import { PROJECT_ROOT, type StackSettings } from '../../cluster/settings';
import { waitFor200 } from '../throwaway-stack';

export interface Peer {
  pid: number;
  port: number;
  url: string;
  /** The peer's stdout and stderr. */
  logFile: string;
  stop(): Promise<void>;
}

/** The peer's database: the stack's HAProxy on loopback, as the app user (what our workers use). */
export function peerDbOf(settings: StackSettings): { host: string; port: number; user: string; password: string } {
  return {
    host: '127.0.0.1',
    port: settings.haproxy.port,
    user: settings.database.appUser,
    password: settings.database.appPassword,
  };
}

export async function startPeer(options: {
  dir: string;
  port: number;
  db: { host: string; port: number; user: string; password: string };
  /** Node options before the script (bench/profile.ts: --cpu-prof). */
  nodeArgs?: string[];
}): Promise<Peer> {
  const source = fs.readFileSync(path.join(PROJECT_ROOT, 'bench', 'peer', 'app.ts'), 'utf8');
  const js = ts.transpileModule(source, {
    compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true },
  }).outputText;
  fs.mkdirSync(options.dir, { recursive: true });
  const script = path.join(options.dir, 'app.js');
  fs.writeFileSync(script, js);
  const logFile = path.join(options.dir, 'peer.log');
  const log = fs.openSync(logFile, 'a');
  const child: ChildProcess = spawn(process.execPath, [...(options.nodeArgs ?? []), script], {
    env: {
      PATH: process.env.PATH,
      NODE_ENV: 'production',
      NODE_PATH: path.join(PROJECT_ROOT, 'node_modules'),
      PORT: String(options.port),
      DB_HOST: options.db.host,
      DB_PORT: String(options.db.port),
      DB_USER: options.db.user,
      DB_PASSWORD: options.db.password,
      DB_NAME: 'test',
    },
    stdio: ['ignore', log, log],
  });
  fs.closeSync(log);
  let exited = false;
  const gone = new Promise<void>((resolve) =>
    child.once('exit', () => {
      exited = true;
      resolve();
    }),
  );
  const url = `http://127.0.0.1:${options.port}`;
  const stop = async () => {
    if (!exited) child.kill('SIGTERM');
    await gone;
  };
  try {
    await waitFor200(`${url}/todos`, 30_000, () => exited);
  } catch (error) {
    await stop();
    throw new Error(
      `${error instanceof Error ? error.message : error}\n${fs.readFileSync(logFile, 'utf8').slice(-2000)}`,
      { cause: error },
    );
  }
  return { pid: child.pid!, port: options.port, url, logFile, stop };
}

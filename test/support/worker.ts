// Starts a real worker process (server/main.ts under tsx, as pm2 would) and resolves once it has sent
// pm2's 'ready' message, i.e. it listens and its pool answered SELECT 1 through HAProxy.
import { fork, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { PROJECT_ROOT } from '../../cluster/settings';
import { exited, killOnExit } from './processes';

export interface WorkerHandle {
  port: number;
  url: string;
  child: ChildProcess;
  output: () => string;
  stop(signal?: NodeJS.Signals): Promise<void>;
}

const TSX_HOOK = require.resolve('tsx/cjs');

/**
 * `until: 'listening'` resolves as soon as the worker accepts HTTP, for tests of a worker that cannot
 * reach its database (it keeps retrying and never sends 'ready').
 */
export async function startWorker(
  env: Record<string, string>,
  readyTimeoutMs = 20_000,
  until: 'ready' | 'listening' = 'ready',
): Promise<WorkerHandle> {
  const port = Number(env.PORT);
  const child = fork(path.join(PROJECT_ROOT, 'server', 'main.ts'), [], {
    cwd: PROJECT_ROOT,
    execArgv: ['--require', TSX_HOOK],
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  killOnExit(child);
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`worker on ${port} not ready in ${readyTimeoutMs} ms:\n${output}`)),
      readyTimeoutMs,
    );
    child.on('message', (message) => {
      if (message === 'ready') {
        clearTimeout(timer);
        resolve();
      }
    });
    if (until === 'listening') {
      child.stdout?.on('data', () => {
        if (output.includes('"msg":"listening"')) {
          clearTimeout(timer);
          resolve();
        }
      });
    }
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`worker on ${port} exited with ${code} before ready:\n${output}`));
    });
  });
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    child,
    output: () => output,
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      child.kill(signal);
      await exited(child);
    },
  };
}

// Runs `node <args>` in the project root (a stack command under tsx, or the pm2 CLI) and collects its
// stdout and stderr together: how the tests and the benchmarks drive the stack as a user would.
import { spawn } from 'node:child_process';
import { PROJECT_ROOT } from './settings';

export interface NodeRun {
  code: number;
  output: string;
}

/** Killed with SIGKILL after `timeoutMs`; `code` is then -1. */
export function runNode(args: string[], env: NodeJS.ProcessEnv, timeoutMs: number): Promise<NodeRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd: PROJECT_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, output });
    });
  });
}

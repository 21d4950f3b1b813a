// Drives the pm2 CLI from this project's node_modules (the same `pm2` a user runs), so `npm start` does
// exactly what `pm2 start ecosystem.config.js` does, and reads state back with `pm2 jlist`.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { PROJECT_ROOT } from './settings';

const PM2_BIN = path.join(path.dirname(require.resolve('pm2/package.json')), 'bin', 'pm2');

export interface Pm2Result {
  code: number;
  stdout: string;
  stderr: string;
}

export function runPm2(args: string[], env: NodeJS.ProcessEnv = process.env): Promise<Pm2Result> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [PM2_BIN, ...args], { cwd: PROJECT_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code: code ?? 1, stdout, stderr }));
  });
}

export interface Pm2Process {
  name: string;
  pid: number;
  status: string;
  restarts: number;
  uptimeMs: number;
}

interface JlistEntry {
  name?: string;
  pid?: number;
  pm2_env?: { status?: string; restart_time?: number; pm_uptime?: number };
}

export async function listProcesses(env: NodeJS.ProcessEnv = process.env): Promise<Pm2Process[]> {
  const result = await runPm2(['jlist'], env);
  if (result.code !== 0) throw new Error(`pm2 jlist failed: ${result.stderr.trim() || result.stdout.trim()}`);
  // pm2 prints "[PM2] Spawning PM2 daemon..." lines first when it starts its daemon: the JSON array is
  // the last line.
  const json = result.stdout.trim().split('\n').reverse().find((line) => line.startsWith('[{') || line === '[]');
  const entries = json ? (JSON.parse(json) as JlistEntry[]) : [];
  return entries.map((entry) => ({
    name: entry.name ?? '?',
    pid: entry.pid ?? 0,
    status: entry.pm2_env?.status ?? 'unknown',
    restarts: entry.pm2_env?.restart_time ?? 0,
    uptimeMs: entry.pm2_env?.pm_uptime ? Date.now() - entry.pm2_env.pm_uptime : 0,
  }));
}

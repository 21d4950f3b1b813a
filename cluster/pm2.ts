// Drives the pm2 CLI from this project's node_modules (the same `pm2` a user runs), so `npm start` does
// exactly what `pm2 start ecosystem.config.js` does, and reads state back with `pm2 jlist`.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { ensureBuild } from './build/build';
import { PROJECT_ROOT } from './settings';

const PM2_BIN = path.join(path.dirname(require.resolve('pm2/package.json')), 'bin', 'pm2');

export interface Pm2Result {
  code: number;
  stdout: string;
  stderr: string;
  timedOut?: boolean;
}

/** The pm2 commands that start code of this project (from ecosystem.config.js or an app's saved script). */
const STARTS_CODE = new Set(['start', 'reload', 'restart', 'startOrRestart', 'startOrReload', 'startOrGracefulReload']);

/**
 * Runs the pm2 CLI; for a command that starts the project's code, first makes sure dist/ holds the build
 * of the current sources (cluster/build/build.ts), building it when TypeScript is installed: the stack's
 * commands run from the sources under tsx (the tests do) start built code too. `timeoutMs`: stop waiting for the CLI after this long (`pm2 start` itself waits up to
 * an app's listen_timeout for its 'ready'); the daemon goes on with what it was asked, the result then
 * has `timedOut`.
 */
export function runPm2(args: string[], env: NodeJS.ProcessEnv = process.env, timeoutMs?: number): Promise<Pm2Result> {
  if (STARTS_CODE.has(args[0] ?? '')) {
    try {
      ensureBuild({ mustBeFresh: true });
    } catch (error) {
      return Promise.reject(error as Error);
    }
  }
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [PM2_BIN, ...args], {
      cwd: PROJECT_ROOT,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    const timer =
      timeoutMs === undefined
        ? undefined
        : setTimeout(
            () => {
              timedOut = true;
              child.kill('SIGKILL');
            },
            Math.max(0, timeoutMs),
          );
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? 1, stdout, stderr, timedOut });
    });
  });
}

export interface Pm2Process {
  name: string;
  pid: number;
  status: string;
  restarts: number;
  uptimeMs: number;
  /** Resident memory in bytes and CPU in percent of one core, as pm2 last sampled them. */
  memoryBytes: number;
  cpuPercent: number;
  execMode: string;
  args: string[];
  /** The environment pm2 gave the app (the variables of its `env` block among them). */
  env: Record<string, string>;
}

interface JlistEntry {
  name?: string;
  pid?: number;
  monit?: { memory?: number; cpu?: number };
  pm2_env?: {
    status?: string;
    restart_time?: number;
    pm_uptime?: number;
    exec_mode?: string;
    args?: unknown;
    env?: Record<string, unknown>;
  };
}

export async function listProcesses(env: NodeJS.ProcessEnv = process.env): Promise<Pm2Process[]> {
  const result = await runPm2(['jlist'], env);
  if (result.code !== 0) throw new Error(`pm2 jlist failed: ${result.stderr.trim() || result.stdout.trim()}`);
  // pm2 prints "[PM2] Spawning PM2 daemon..." lines first when it starts its daemon: the JSON array is
  // the last line.
  const json = result.stdout
    .trim()
    .split('\n')
    .reverse()
    .find((line) => line.startsWith('[{') || line === '[]');
  const entries = json ? (JSON.parse(json) as JlistEntry[]) : [];
  return entries.map((entry) => {
    const pm2Env = entry.pm2_env ?? {};
    const appEnv: Record<string, string> = {};
    for (const [key, value] of Object.entries(pm2Env.env ?? {})) if (typeof value === 'string') appEnv[key] = value;
    return {
      name: entry.name ?? '?',
      pid: entry.pid ?? 0,
      status: pm2Env.status ?? 'unknown',
      restarts: pm2Env.restart_time ?? 0,
      uptimeMs: pm2Env.status === 'online' && pm2Env.pm_uptime ? Date.now() - pm2Env.pm_uptime : 0,
      memoryBytes: entry.monit?.memory ?? 0,
      cpuPercent: entry.monit?.cpu ?? 0,
      execMode: pm2Env.exec_mode ?? 'unknown',
      args: Array.isArray(pm2Env.args) ? pm2Env.args.map(String) : [],
      env: appEnv,
    };
  });
}

// A throwaway pm2 stack for benchmarks: an isolated PM2_HOME, a temporary STACK_DIR and free ports for
// everything, started with `tsx cluster/cli/start.ts` exactly as `npm start` does (so whatever pm2 runs
// for `npm start` is what is measured), plus variant workers added with `pm2 start <file>.json`, built
// from cluster/ecosystem.ts's worker entry with one change each. cleanup() runs `pm2 kill` and removes
// the folder, also on Ctrl-C. Used by bench/bench.ts (npm run bench), bench/tier.ts (npm run bench:tier) and
// bench/galera.ts (npm run bench:galera, two stacks at once).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { buildApps, logPath, workerAppName, type AppDefinition } from '../cluster/ecosystem';
import { runPm2, type Pm2Process } from '../cluster/pm2';
import { loadStackSettings, type StackSettings } from '../cluster/settings';
import { freePort } from '../cluster/free-port';
import { runNode, type NodeRun } from '../cluster/run-node';

const TSX_BIN = path.join(path.dirname(require.resolve('tsx/package.json')), 'dist', 'cli.mjs');

export function run(args: string[], env: NodeJS.ProcessEnv, timeoutMs: number): Promise<NodeRun> {
  return runNode(args, env, timeoutMs);
}

export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what} took longer than ${ms / 1000} s`)), ms);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}

/** A product worker entry of cluster/ecosystem.ts for `port`, renamed, with one change (fork mode and/or env). */
export function variantApp(
  env: NodeJS.ProcessEnv,
  port: number,
  name: string,
  change: { fork?: boolean; env?: Record<string, string> },
): AppDefinition {
  const settings = loadStackSettings({ ...env, WORKER_PORTS: String(port) });
  const worker = buildApps(settings, env).find((app) => app.name === workerAppName(settings, port));
  if (!worker?.env) throw new Error(`cluster/ecosystem.ts built no worker for port ${port}`);
  const app: AppDefinition = {
    ...worker,
    name,
    out_file: logPath(settings, name),
    error_file: logPath(settings, name),
    env: { ...worker.env, WORKER_NAME: name, ...change.env },
  };
  if (change.fork) {
    app.exec_mode = 'fork';
    delete app.instances;
  }
  return app;
}

/** Polls `url` until it answers 200; fails after `deadlineMs`, or at once when `gaveUp()` says so. */
export async function waitFor200(url: string, deadlineMs: number, gaveUp: () => boolean = () => false): Promise<void> {
  const deadline = Date.now() + deadlineMs;
  for (;;) {
    try {
      const reply = await fetch(url, { signal: AbortSignal.timeout(2000) });
      await reply.arrayBuffer();
      if (reply.status === 200) return;
    } catch {
      // not listening yet
    }
    if (gaveUp()) throw new Error(`${url}: the process exited before it answered`);
    if (Date.now() > deadline) throw new Error(`${url} did not answer 200 within ${deadlineMs / 1000} s`);
    await new Promise((resolve) => setTimeout(resolve, 300));
  }
}

export function waitForReady(url: string, deadlineMs: number): Promise<void> {
  return waitFor200(`${url}/readyz`, deadlineMs);
}

export async function expectStatus(url: string, status = 200): Promise<void> {
  const reply = await fetch(url, { signal: AbortSignal.timeout(5000) });
  const body = await reply.text();
  if (reply.status !== status)
    throw new Error(`${url} answered ${reply.status}, expected ${status}: ${body.slice(0, 200)}`);
}

export function processByName(processes: Pm2Process[], name: string): Pm2Process {
  const proc = processes.find((p) => p.name === name);
  if (!proc || proc.pid <= 0) throw new Error(`pm2 runs no ${name} (has: ${processes.map((p) => p.name).join(', ')})`);
  return proc;
}

/** Processes whose command line mentions the temporary folder: what `pm2 kill` should have ended. */
function leftoverPids(marker: string): number[] {
  const pids: number[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      if (fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(marker)) pids.push(Number(entry));
    } catch {
      // ended while we looked
    }
  }
  return pids;
}

// Every stack not yet cleaned up; one SIGINT/SIGTERM handler stops them all (bench:galera runs two at
// once) before exiting.
const pendingCleanups = new Set<() => Promise<void>>();
let signalsHandled = false;

function cleanUpOnSignals(cleanup: () => Promise<void>): void {
  pendingCleanups.add(cleanup);
  if (signalsHandled) return;
  signalsHandled = true;
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      void Promise.allSettled([...pendingCleanups].map((c) => c())).finally(() =>
        process.exit(signal === 'SIGINT' ? 130 : 143),
      );
    });
  }
}

export interface ThrowawayStack {
  home: string;
  env: NodeJS.ProcessEnv;
  settings: StackSettings;
  /** The product workers' ports (WORKER_PORTS). */
  workerPorts: number[];
  /** Seconds `tsx cluster/cli/start.ts` took. */
  startSeconds: number;
  /** pm2's daemon. */
  godPid: number;
  /** `pm2 start <tmp>/variants.json`, then waits until each answers /readyz. */
  addVariants(apps: AppDefinition[], ports: number[]): Promise<void>;
  cleanup(): Promise<void>;
}

/**
 * Starts the stack in a new temporary folder. `extraEnv` adds settings (queue limits, maxconn). The
 * caller must call cleanup() (also installed for SIGINT/SIGTERM).
 */
export async function startThrowawayStack(options: {
  stackName: string;
  workers: number;
  extraEnv?: Record<string, string>;
}): Promise<ThrowawayStack> {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), `kh-bench-${options.stackName}-`));
  const workerPorts: number[] = [];
  for (let i = 0; i < options.workers; i++) workerPorts.push(await freePort());
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    PM2_HOME: path.join(home, 'pm2'),
    STACK_DIR: path.join(home, 'stack'),
    STACK_NAME: options.stackName,
    WORKER_PORTS: workerPorts.join(','),
    HAPROXY_PORT: String(await freePort()),
    HAPROXY_STATS_PORT: String(await freePort()),
    HTTP_PORT: String(await freePort()),
    MYSQL_PORT: String(await freePort()),
    ...options.extraEnv,
  };

  let cleaned = false;
  const cleanup = async () => {
    if (cleaned) return;
    cleaned = true;
    pendingCleanups.delete(cleanup);
    console.log(`\nStopping the throwaway stack ${options.stackName} (pm2 kill) ...`);
    try {
      const killed = await withTimeout(runPm2(['kill'], env), 120_000, 'pm2 kill');
      if (killed.code !== 0) console.error(`pm2 kill exited ${killed.code}: ${killed.stderr || killed.stdout}`);
    } catch (error) {
      console.error(error instanceof Error ? error.message : error);
    }
    // Only processes started for this run mention its temporary folder; end any pm2 left behind.
    for (const pid of leftoverPids(home)) {
      console.error(`Process ${pid} of this run outlived pm2 kill; sending SIGKILL.`);
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    fs.rmSync(home, { recursive: true, force: true });
  };
  cleanUpOnSignals(cleanup);

  try {
    const startedAt = Date.now();
    console.log(`Starting a throwaway stack in ${home} (tsx cluster/cli/start.ts, as npm start) ...`);
    const started = await run([TSX_BIN, 'cluster/cli/start.ts'], env, 240_000);
    if (started.code !== 0) throw new Error(`cluster/cli/start.ts exited ${started.code}:\n${started.output}`);
    const startSeconds = (Date.now() - startedAt) / 1000;
    console.log(`Stack up in ${startSeconds.toFixed(1)} s.`);
    const godPid = Number(fs.readFileSync(path.join(env.PM2_HOME!, 'pm2.pid'), 'utf8').trim());
    const addVariants = async (apps: AppDefinition[], ports: number[]) => {
      const file = path.join(home, 'variants.json');
      fs.writeFileSync(file, JSON.stringify({ apps }, null, 2));
      const added = await withTimeout(runPm2(['start', file], env), 120_000, 'pm2 start of the variants');
      if (added.code !== 0) throw new Error(`pm2 start ${file} exited ${added.code}:\n${added.stderr || added.stdout}`);
      for (const port of ports) await waitForReady(`http://127.0.0.1:${port}`, 60_000);
    };
    return { home, env, settings: loadStackSettings(env), workerPorts, startSeconds, godPid, addVariants, cleanup };
  } catch (error) {
    await cleanup();
    throw error;
  }
}

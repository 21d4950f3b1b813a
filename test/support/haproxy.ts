// The real haproxy with the project's haproxy/haproxy.cfg and the files cluster/haproxy/config-files.ts
// renders from the settings, for tests that go through the proxy. Ready once the stats port answers.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { haproxyArgs, writeHaproxyConfig } from '../../cluster/haproxy/config-files';
import type { StackSettings } from '../../cluster/settings';
import { systemBinary } from '../../cluster/system-packages';
import { exited, killOnExit } from './processes';

export interface HaproxyHandle {
  /** SIGTERM (HAProxy's immediate stop) and wait for the exit. */
  stop(): Promise<void>;
  /** SIGKILL, as a crash would. */
  kill(): void;
  /** Starts again with the same settings (after kill() or stop()). */
  restart(): Promise<void>;
  /** SIGSTOP: the proxy hangs with its sockets open (the kernel still accepts connections). */
  pause(): void;
  /** SIGCONT after pause(). */
  resume(): void;
  /** What haproxy printed so far, for failure messages. */
  output(): string;
}

const START_TIMEOUT_MS = 10_000;

/** The master and, in master-worker mode (-W), its workers, which hold the proxied connections. */
function signalAll(master: ChildProcess | undefined, signal: NodeJS.Signals): number[] {
  if (!master?.pid) return [];
  const workers = spawnSync('pgrep', ['-P', String(master.pid)], { encoding: 'utf8' })
    .stdout.split('\n')
    .filter(Boolean)
    .map(Number);
  for (const pid of workers) process.kill(pid, signal);
  master.kill(signal);
  return [...workers, master.pid];
}

/** Whether every thread of the process is stopped (state T in /proc), or the process is gone. */
function allThreadsStopped(pid: number): boolean {
  try {
    return readdirSync(`/proc/${pid}/task`).every((thread) => {
      // The state follows the command name in parentheses, which may itself hold spaces.
      const stat = readFileSync(`/proc/${pid}/task/${thread}/stat`, 'utf8');
      return 'Tt'.includes(stat.charAt(stat.lastIndexOf(')') + 2));
    });
  } catch {
    return true; // gone
  }
}

/**
 * Blocks until every process is stopped: kill() only queues SIGSTOP, and on a busy machine a proxy
 * thread may still run long enough to pass on bytes the test means to hold back (CI saw a COMMIT's
 * answer reach the worker through a proxy it had just paused).
 */
function waitStopped(pids: number[]): void {
  const deadline = Date.now() + 5_000;
  for (const pid of pids) {
    while (!allThreadsStopped(pid)) {
      if (Date.now() > deadline) throw new Error(`haproxy process ${pid} did not stop within 5 s of SIGSTOP.`);
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1);
    }
  }
}

export interface StartHaproxyOptions {
  /**
   * Render the front door's servers from settings.workers.ports (HAProxy then health-checks them with
   * /readyz each second). Off by default: see start() below.
   */
  frontDoor?: boolean;
}

export async function startHaproxy(settings: StackSettings, options: StartHaproxyOptions = {}): Promise<HaproxyHandle> {
  const statsUrl = `http://${settings.haproxy.host}:${settings.haproxy.statsPort}/stats`;
  let child: ChildProcess | undefined;
  let output = '';

  async function start(): Promise<void> {
    // The front door with no servers: tests here start their workers themselves and count every
    // statement on a worker's one connection, so HAProxy must not probe them (/readyz each second runs
    // a SELECT 1 on an idle worker). The pm2 tests (test/cluster/operations.test.ts) run the front door.
    writeHaproxyConfig(options.frontDoor ? settings : { ...settings, workers: { ...settings.workers, ports: [] } });
    const current = spawn(systemBinary('haproxy'), haproxyArgs(settings), {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child = current;
    killOnExit(current);
    current.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    current.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const deadline = Date.now() + START_TIMEOUT_MS;
    while (Date.now() < deadline) {
      if (current.exitCode !== null || current.signalCode !== null) break;
      const status = await fetch(statsUrl)
        .then(async (response) => (await response.arrayBuffer(), response.status))
        .catch(() => 0);
      if (status === 200) return;
      await sleep(50);
    }
    current.kill('SIGKILL');
    throw new Error(`haproxy did not serve ${statsUrl} within ${START_TIMEOUT_MS} ms. Output:\n${output}`);
  }

  async function stopProcess(): Promise<void> {
    if (!child) return;
    const current = child;
    child = undefined;
    current.kill('SIGTERM');
    current.kill('SIGCONT'); // a paused proxy acts on the SIGTERM only once it runs again
    await exited(current);
  }

  await start();
  return {
    stop: stopProcess,
    kill() {
      child?.kill('SIGKILL');
    },
    async restart() {
      await stopProcess();
      await start();
    },
    pause() {
      waitStopped(signalAll(child, 'SIGSTOP'));
    },
    resume() {
      signalAll(child, 'SIGCONT');
    },
    output: () => output,
  };
}

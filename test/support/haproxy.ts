// The real haproxy with the project's haproxy/haproxy.cfg and the env cluster/haproxy-env.ts gives
// it, for tests that go through the proxy. Ready once the stats port answers.
import { spawn, type ChildProcess } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { haproxyArgs, haproxyEnv } from '../../cluster/haproxy-env';
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
  /** What haproxy printed so far, for failure messages. */
  output(): string;
}

const START_TIMEOUT_MS = 10_000;

export async function startHaproxy(settings: StackSettings): Promise<HaproxyHandle> {
  const statsUrl = `http://${settings.haproxyHost}:${settings.haproxyStatsPort}/stats`;
  let child: ChildProcess | undefined;
  let output = '';

  async function start(): Promise<void> {
    const current = spawn(systemBinary('haproxy'), haproxyArgs(), {
      env: { ...process.env, ...haproxyEnv(settings) },
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
    output: () => output,
  };
}

// The lab tier (the one test/lab/support/shared-tier.ts starts): a lab, one topology file, and per host
// its STACK_DIR, PM2_HOME and STACK_HOST; `npm start` inside each host (h1 first: it bootstraps and makes
// the secrets; then the others join). The lab's hosts share the machine's filesystem; two things stand in
// for what a user does on real hosts:
// - one set of secrets: h2's and h3's STACK_DIR/secrets link to h1's, as a user copies them once;
// - each host's <STACK_DIR>/galera/n<i> of the other hosts' nodes links to that host's (the start
//   coordination reads every node's files; see docs/multi-host.md, "what is left").
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type mysql from 'mysql2/promise';
import { execArgs } from '../../../cluster/lab/commands';
import { IP } from '../../../cluster/lab/ip';
import { Lab } from '../../../cluster/lab/network';
import type { LabSpec } from '../../../cluster/lab/spec';
import { sweepLab } from '../../../cluster/lab/sweep';
import { PROJECT_ROOT } from '../../../cluster/settings';

/** npm start's own bound (START_TIMEOUT_MS, 180 s) plus the build and the package check. */
export const START_MS = 300_000;

export interface RunResult {
  code: number | null;
  output: string;
}

/** Runs `argv` inside `host` (`ip netns exec <netns> env <env> <argv>`) from the project's folder. */
export function runInHost(
  lab: Lab,
  host: string,
  argv: string[],
  env: Record<string, string>,
  timeoutMs: number,
): Promise<RunResult> {
  return new Promise((resolve) => {
    const vars = Object.entries(env).map(([name, value]) => `${name}=${value}`);
    const child = spawn(IP, execArgs(lab.host(host), ['env', ...vars, ...argv]), {
      cwd: PROJECT_ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (data: Buffer) => (output += data.toString()));
    child.stderr.on('data', (data: Buffer) => (output += data.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

export class LabTier {
  readonly lab: Lab;
  /** The test's folder: hosts.json and one folder per host. */
  readonly dir: string;

  private constructor(lab: Lab, dir: string) {
    this.lab = lab;
    this.dir = dir;
  }

  /** Builds the lab of `spec` and writes the topology and each host's folders (nothing started). */
  static prepare(spec: LabSpec): LabTier {
    const lab = Lab.up(spec);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kh-tier-'));
    fs.writeFileSync(path.join(dir, 'none.env'), '');
    const hosts = lab.hosts.map((h) => ({ name: h.name, address: h.address }));
    fs.writeFileSync(path.join(dir, 'hosts.json'), JSON.stringify({ hosts }));
    for (const [k, host] of hosts.entries()) {
      fs.mkdirSync(path.join(dir, host.name, 'galera'), { recursive: true });
      if (k > 0) fs.symlinkSync(path.join(dir, hosts[0]!.name, 'secrets'), path.join(dir, host.name, 'secrets'));
      for (const [i, other] of hosts.entries()) {
        if (i === k) continue;
        fs.symlinkSync(
          path.join(dir, other.name, 'galera', `n${i + 1}`),
          path.join(dir, host.name, 'galera', `n${i + 1}`),
        );
      }
    }
    return new LabTier(lab, dir);
  }

  get hostNames(): string[] {
    return this.lab.hosts.map((h) => h.name);
  }

  /** The environment `npm` commands of `host` run with. */
  hostEnv(host: string): Record<string, string> {
    return {
      STACK_HOSTS: path.join(this.dir, 'hosts.json'),
      STACK_HOST: host,
      STACK_DIR: path.join(this.dir, host),
      PM2_HOME: path.join(this.dir, host, 'pm2'),
      // No .env of the working tree: the test's settings only.
      STACK_ENV_FILE: path.join(this.dir, 'none.env'),
    };
  }

  /** `npm start` inside `host`; throws with the output's end when it fails. */
  async start(host: string): Promise<void> {
    const started = await runInHost(this.lab, host, ['npm', 'start'], this.hostEnv(host), START_MS);
    if (started.code !== 0) {
      throw new Error(`npm start on ${host} exited ${started.code}:\n${started.output.slice(-4000)}`);
    }
  }

  /** Every host, in order (h1 bootstraps, each other one joins by SST). */
  async startAll(): Promise<void> {
    for (const host of this.hostNames) await this.start(host);
  }

  /** Host i's node (`n<i>`, i from 1). */
  nodeOf(host: string): string {
    return `n${this.hostNames.indexOf(host) + 1}`;
  }

  hostOf(node: string): string {
    return this.hostNames[Number(node.slice(1)) - 1]!;
  }

  nodeDir(node: string): string {
    return path.join(this.dir, this.hostOf(node), 'galera', node);
  }

  /** The node's admin login over its unix socket (sockets are files: they cross namespaces). */
  nodeLogin(node: string): mysql.ConnectionOptions {
    return { socketPath: path.join(this.nodeDir(node), 'mysqld.sock'), user: os.userInfo().username };
  }

  nodeLog(node: string): string {
    return path.join(this.nodeDir(node), 'mysqld.err');
  }

  statsSocket(host: string): string {
    return path.join(this.dir, host, 'haproxy', 'stats.sock');
  }

  /** Ends every process of the hosts (the pm2 daemons and all they run), then the namespaces. */
  teardown(): void {
    this.lab.teardown();
    fs.rmSync(this.dir, { recursive: true, force: true });
  }

  /** For an after hook whose before may have failed half-way. */
  static teardown(tier: LabTier | undefined, spec: LabSpec): void {
    if (tier) tier.teardown();
    else sweepLab(spec.prefix, 0);
  }
}

// The lab tier (the one test/lab/support/shared-tier.ts starts): a lab, one topology file, and per host
// its STACK_DIR, PM2_HOME and STACK_HOST; `npm start` inside each host (h1 first: it bootstraps and makes
// the secrets; then the others join). The lab's hosts share the machine's filesystem, but each host's
// STACK_DIR holds only its own node (the runners learn the others' start states from their agents), and
// h2's and h3's secrets are a copy of h1's, made before their first start, as a user copies them once.
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
    // Each host's STACK_DIR holds its own node only; the secrets are copied from h1's by start().
    for (const host of hosts) fs.mkdirSync(path.join(dir, host.name, 'galera'), { recursive: true });
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
    // As a user copies <STACK_DIR>/secrets from host 1 (whose first start made them) to every host, once.
    const secrets = path.join(this.dir, host, 'secrets');
    if (host !== this.hostNames[0] && !fs.existsSync(secrets)) {
      fs.cpSync(path.join(this.dir, this.hostNames[0]!, 'secrets'), secrets, { recursive: true });
      fs.chmodSync(secrets, 0o700); // cpSync keeps the modes inside, not the top folder's
    }
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

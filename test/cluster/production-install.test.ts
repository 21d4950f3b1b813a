// A production install, as a user makes one: the checkout's files copied to a new folder, built there,
// then `npm ci --omit=dev` (no tsx, no TypeScript), and the stack started and stopped with the bare npm
// scripts on free ports, with an isolated PM2_HOME and state folder (test/support/pm2-env.ts). Then a
// source edited in that install: the start refuses to run the old build, in one clear line.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { PROJECT_ROOT } from '../../cluster/settings';
import { request } from '../support/http';
import { isolatedEnv } from '../support/pm2-env';

interface Ran {
  code: number;
  output: string;
  seconds: number;
}

/** Runs `command args` in `cwd`, stdout and stderr together; SIGKILL after `timeoutMs` (code -1). */
function runIn(cwd: string, command: string, args: string[], env: NodeJS.ProcessEnv, timeoutMs: number): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const child = spawn(command, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, output, seconds: (Date.now() - started) / 1000 });
    });
  });
}

/** The checkout's files as git lists them (tracked and new, not ignored), as they are in the work tree. */
function copyCheckout(to: string): void {
  const listed = spawnSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], {
    cwd: PROJECT_ROOT,
    encoding: 'utf8',
  });
  expect(listed.status, listed.stderr).to.equal(0);
  for (const file of new Set(listed.stdout.split('\0').filter(Boolean))) {
    const from = path.join(PROJECT_ROOT, file);
    if (!fs.existsSync(from)) continue; // deleted in the work tree, not yet committed
    fs.mkdirSync(path.dirname(path.join(to, file)), { recursive: true });
    fs.copyFileSync(from, path.join(to, file));
    fs.chmodSync(path.join(to, file), fs.statSync(from).mode);
  }
}

async function waitForTodos(url: string, deadlineMs: number): Promise<unknown> {
  const deadline = Date.now() + deadlineMs;
  for (;;) {
    const reply = await request(url, { signal: AbortSignal.timeout(5000) }).catch(() => undefined);
    if (reply?.status === 200) return reply.body;
    if (Date.now() > deadline) throw new Error(`${url} did not answer 200 within ${deadlineMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 300));
  }
}

describe('a production install (npm ci --omit=dev after a build)', function () {
  this.timeout(240_000);
  let dir: string;
  let home: string;
  let env: NodeJS.ProcessEnv;
  let ports: number[];
  const npm = (args: string[], timeoutMs = 150_000) => runIn(dir, 'npm', args, env, timeoutMs);

  before(async function () {
    this.timeout(300_000);
    ({ env, ports, home } = await isolatedEnv('prod-install'));
    env = { ...env, npm_config_update_notifier: 'false' };
    dir = path.join(home, 'app');
    copyCheckout(dir);
    // The build, with this checkout's dev dependencies lent for it (as a CI job or a Dockerfile's build
    // stage would build), then taken away again.
    fs.symlinkSync(path.join(PROJECT_ROOT, 'node_modules'), path.join(dir, 'node_modules'), 'dir');
    const built = await runIn(dir, process.execPath, ['cluster/build/run.js', 'build'], process.env, 120_000);
    expect(built.code, built.output).to.equal(0);
    fs.rmSync(path.join(dir, 'node_modules'));
    // From npm's cache when it has every package (the registry otherwise).
    const installed = await runIn(
      dir,
      'npm',
      ['ci', '--omit=dev', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error'],
      { ...process.env, npm_config_update_notifier: 'false' },
      180_000,
    );
    expect(installed.code, installed.output).to.equal(0);
    // The prepare script ran and found the build fresh: nothing to say.
    expect(installed.output).to.not.match(/Warning|building/i);
    console.log(`      (npm ci --omit=dev: ${installed.seconds.toFixed(1)} s)`);
  });

  after(async function () {
    this.timeout(90_000);
    if (dir && fs.existsSync(path.join(dir, 'node_modules', 'pm2'))) {
      await runIn(dir, process.execPath, ['node_modules/pm2/bin/pm2', 'kill'], env, 60_000);
    }
    if (home) fs.rmSync(home, { recursive: true, force: true });
  });

  it('installs neither tsx nor TypeScript', () => {
    for (const name of ['tsx', 'typescript', 'esbuild', 'mocha']) {
      expect(fs.existsSync(path.join(dir, 'node_modules', name)), `node_modules/${name}`).to.equal(false);
    }
    expect(fs.existsSync(path.join(dir, 'node_modules', 'pm2'))).to.equal(true);
  });

  it('npm start brings the stack up on the built JavaScript, a worker serves /todos, npm stop stops it', async () => {
    const started = await npm(['start']);
    expect(started.code, started.output).to.equal(0);
    expect(started.output).to.contain('Stack is up');
    expect(await waitForTodos(`http://127.0.0.1:${ports[0]}/todos`, 60_000)).to.deep.equal({
      1: { item: 'task1', status: 'pending' },
      2: { item: 'task2', status: 'done' },
    });
    const status = await npm(['run', '-s', 'status']);
    expect(status.code, status.output).to.equal(0);
    const stopped = await npm(['stop'], 90_000);
    expect(stopped.code, stopped.output).to.equal(0);
  });

  it('after a source edit: npm start and pm2 start ecosystem.config.js refuse the old build in one line; npm stop still works', async () => {
    fs.appendFileSync(path.join(dir, 'server', 'main.ts'), '\n// edited after the build\n');
    const started = await npm(['start']);
    expect(started.code).to.not.equal(0);
    expect(started.output).to.contain(
      'The build in dist/ is older than the sources (changed since: server/main.ts), and TypeScript is not installed to rebuild it',
    );
    expect(started.output).to.not.contain('Stack is up');

    const pm2 = await runIn(
      dir,
      process.execPath,
      ['node_modules/pm2/bin/pm2', 'start', 'ecosystem.config.js'],
      env,
      60_000,
    );
    expect(pm2.code).to.not.equal(0);
    const lines = pm2.output.trim().split('\n');
    expect(lines.filter((line) => line.includes('older than the sources'))).to.deep.equal([
      'The build in dist/ is older than the sources (changed since: server/main.ts): run npm run build (or npm start, which builds).',
    ]);
    expect(pm2.output).to.not.match(/malformated|at .*\.js:\d+/);

    // Stopping (and looking) is never blocked by a stale build: a warning, then the command.
    const stopped = await npm(['stop'], 90_000);
    expect(stopped.code, stopped.output).to.equal(0);
    expect(stopped.output).to.contain('Warning: The build in dist/ is older than the sources');
  });
});

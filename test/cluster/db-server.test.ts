import { fork, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import mysql from 'mysql2/promise';
import { adminConnectionOptions } from '../../cluster/database/admin';
import { embeddedPaths } from '../../cluster/database/embedded';
import { provisionSecrets } from '../../cluster/secrets';
import { loadStackSettings, PROJECT_ROOT, type StackSettings } from '../../cluster/settings';
import { freePort } from '../../cluster/free-port';
import { exited, killOnExit } from '../support/processes';

const TSX = require.resolve('tsx/cjs');

interface Wrapper {
  child: ChildProcess;
  ready: Promise<void>;
  output: () => string;
  exitCode: () => Promise<number | null>;
}

describe('cluster/database/server.ts, the pm2 entry for the embedded MariaDB', function () {
  this.timeout(60_000);
  let stateDir: string;
  let env: NodeJS.ProcessEnv;
  let settings: StackSettings;
  let wrapper: Wrapper | undefined;

  function startWrapper(): Wrapper {
    let output = '';
    const child = fork(path.join(PROJECT_ROOT, 'cluster/database/server.ts'), [], {
      execArgv: ['--require', TSX],
      env,
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    killOnExit(child);
    child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const ready = new Promise<void>((resolve, reject) => {
      child.on('message', (message) => message === 'ready' && resolve());
      child.once('exit', (code) => reject(new Error(`db-server exited with ${code} before ready:\n${output}`)));
    });
    const exitCode = async (): Promise<number | null> => (await exited(child), child.exitCode);
    return { child, ready, output: () => output, exitCode };
  }

  async function mariadbdPid(): Promise<number> {
    return Number((await readFile(embeddedPaths(stateDir).pidFile, 'utf8')).trim());
  }

  // An orphaned mariadbd may linger as a zombie until whoever adopted it reaps it; that counts as gone.
  function alive(pid: number): boolean {
    try {
      return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
    } catch {
      return false;
    }
  }

  function npmRun(script: string, args: string[]): { status: number | null; stdout: string } {
    const result = spawnSync('npm', ['run', '--silent', script, '--', ...args], {
      cwd: PROJECT_ROOT,
      env,
      encoding: 'utf8',
    });
    return { status: result.status, stdout: result.stdout };
  }

  before(async function () {
    stateDir = await mkdtemp(path.join(os.tmpdir(), 'kh-db-server-'));
    env = { ...process.env, STACK_DIR: stateDir, MYSQL_PORT: String(await freePort()) };
    delete env.MYSQL_HOST; // the embedded server, whatever the caller's shell says
    // What npm start's prepareStateDir does before pm2 starts the server: the generated passwords.
    settings = provisionSecrets(loadStackSettings(env));
  });

  after(async function () {
    if (wrapper && wrapper.child.exitCode === null) {
      wrapper.child.kill('SIGTERM');
      await exited(wrapper.child);
    }
    // A wrapper SIGKILLed by a failed test leaves its mariadbd running; it must not outlive the run.
    const pid = await mariadbdPid().catch(() => 0);
    if (pid > 0 && alive(pid)) process.kill(pid, 'SIGKILL');
    await rm(stateDir, { recursive: true, force: true });
  });

  it('creates the datadir, applies the migrations and only then sends ready', async function () {
    wrapper = startWrapper();
    await wrapper.ready;
    const admin = await mysql.createConnection(adminConnectionOptions(settings));
    const [[row]] = await admin.query<mysql.RowDataPacket[]>('SELECT COUNT(*) AS n FROM test.todos');
    await admin.end();
    expect([wrapper.output().includes('db-server: created the datadir'), row?.n]).to.deep.equal([true, 2]);
  });

  it('lets `npm run db:shell -- -N -B -e "SELECT 1"` run one statement over the socket', function () {
    expect(npmRun('db:shell', ['-N', '-B', '-e', 'SELECT 1'])).to.deep.equal({ status: 0, stdout: '1\n' });
  });

  it('passes the client exit status through db:shell when the statement fails', function () {
    expect(npmRun('db:shell', ['-N', '-B', '-e', 'SELECT nope'])).to.deep.equal({ status: 1, stdout: '' });
  });

  it('lets `npm run db:migrate` re-apply only the repeatable file', function () {
    expect(npmRun('db:migrate', [])).to.deep.equal({
      status: 0,
      stdout: 'Migrated the embedded MariaDB; applied: R__users.sql.\n',
    });
  });

  it("stops mariadbd and exits 0 on SIGINT, pm2's default kill signal", async function () {
    const pid = await mariadbdPid();
    wrapper!.child.kill('SIGINT');
    expect([await wrapper!.exitCode(), alive(pid)]).to.deep.equal([0, false]);
  });

  it('starts again on the existing datadir, keeping its rows', async function () {
    wrapper = startWrapper();
    await wrapper.ready;
    const admin = await mysql.createConnection(adminConnectionOptions(settings));
    const [[row]] = await admin.query<mysql.RowDataPacket[]>('SELECT COUNT(*) AS n FROM test.todos');
    await admin.end();
    expect([wrapper.output().includes('created the datadir'), row?.n]).to.deep.equal([false, 2]);
  });

  it('exits 1 when mariadbd dies under it, so pm2 restarts it', async function () {
    process.kill(await mariadbdPid(), 'SIGKILL');
    expect(await wrapper!.exitCode()).to.equal(1);
  });

  it('stops a mariadbd left running by a SIGKILLed wrapper before starting its own', async function () {
    const first = startWrapper();
    await first.ready;
    const orphan = await mariadbdPid();
    first.child.kill('SIGKILL');
    await exited(first.child);
    wrapper = startWrapper();
    await wrapper.ready;
    expect([
      alive(orphan),
      wrapper.output().includes('db-server: stopped a mariadbd left running on this datadir.'),
    ]).to.deep.equal([false, true]);
  });
});

// `.env`, as a user relies on it: a stack whose settings (its own ports, STACK_NAME, STACK_DIR and
// MONITORING=1) live only in a .env file is started, listed, reloaded, started again and stopped by the
// bare commands, none of them given a setting in its environment. STACK_ENV_FILE points the commands at
// the test's file instead of the project's .env; PM2_HOME (pm2's own, not a setting) isolates the daemon.
import fs from 'node:fs';
import { expect } from 'chai';
import { freePort } from '../../cluster/free-port';
import { isolatedEnv, jlist, PM2_BIN, run, TSX_BIN } from '../support/pm2-env';

describe('settings in .env, read by every command', function () {
  this.timeout(240_000);
  let home: string;
  let port: number;
  /** What each command gets: no setting, only where pm2 lives and which .env to read. */
  let bare: NodeJS.ProcessEnv;
  const names = (apps: { name: string }[]) => apps.map((a) => a.name).sort();

  before(async () => {
    const isolated = await isolatedEnv('dotenv', 1);
    home = isolated.home;
    port = isolated.ports[0]!;
    const { PATH, HOME, PM2_HOME, STACK_ENV_FILE, ...settings } = isolated.env;
    const lines = Object.entries({
      ...settings,
      MONITORING: '1',
      PROMETHEUS_PORT: String(await freePort()),
      MYSQLD_EXPORTER_PORT: String(await freePort()),
    }).map(([name, value]) => `${name}=${value}`);
    // The empty .env isolatedEnv made, now holding every setting.
    fs.writeFileSync(STACK_ENV_FILE!, `# The test's settings\n${lines.join('\n')}\n`);
    bare = { PATH, HOME, PM2_HOME, STACK_ENV_FILE };
  });

  after(async () => {
    await run([PM2_BIN, 'kill'], bare, 60_000);
    fs.rmSync(home, { recursive: true, force: true });
  });

  const stack = () => [
    'dotenv-haproxy',
    'dotenv-mariadb',
    'dotenv-mysqld-exporter',
    'dotenv-prometheus',
    `dotenv-worker-${port}`,
  ];

  it('npm start starts the stack .env describes, monitoring included', async () => {
    const started = await run([TSX_BIN, 'cluster/cli/start.ts'], bare);
    expect(started.code, started.output).to.equal(0);
    expect(names(await jlist(bare))).to.deep.equal(stack());
  });

  it('npm run status lists it, every app up', async () => {
    const status = await run([TSX_BIN, 'cluster/cli/status.ts', '--json'], bare);
    expect(status.code, status.output).to.equal(0);
    const rows = JSON.parse(status.output) as { name: string; status: string }[];
    expect(rows.map((r) => `${r.name}:${r.status}`).sort()).to.deep.equal(stack().map((name) => `${name}:online`));
    // A value set in the shell wins over .env: this names another stack, which runs nothing.
    const other = await run([TSX_BIN, 'cluster/cli/status.ts', '--json'], { ...bare, STACK_NAME: 'elsewhere' });
    expect(
      (JSON.parse(other.output.slice(other.output.indexOf('['))) as { name: string }[]).map((r) => r.name),
    ).to.include('elsewhere-haproxy');
  });

  it('npm run reload replaces the worker and keeps Prometheus; npm start again changes nothing', async () => {
    const before = await jlist(bare);
    const prometheusPid = before.find((a) => a.name === 'dotenv-prometheus')!.pid;
    const reloaded = await run([TSX_BIN, 'cluster/cli/reload.ts'], bare);
    expect(reloaded.code, reloaded.output).to.equal(0);
    const after = await jlist(bare);
    expect(names(after)).to.deep.equal(stack());
    expect(after.find((a) => a.name === 'dotenv-prometheus')!.pid).to.equal(prometheusPid);
    expect(after.find((a) => a.name === `dotenv-worker-${port}`)!.pid).to.not.equal(
      before.find((a) => a.name === `dotenv-worker-${port}`)!.pid,
    );
    const again = await run([TSX_BIN, 'cluster/cli/start.ts'], bare);
    expect(again.code, again.output).to.equal(0);
    expect(again.output).to.contain('already running as configured');
    expect((await jlist(bare)).find((a) => a.name === 'dotenv-prometheus')!.pid).to.equal(prometheusPid);
  });

  it('npm stop stops it', async () => {
    const stopped = await run([TSX_BIN, 'cluster/cli/stop.ts'], bare, 90_000);
    expect(stopped.code, stopped.output).to.equal(0);
    expect(names(await jlist(bare))).to.deep.equal([]);
  });
});

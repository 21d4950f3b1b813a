import { expect } from 'chai';
import { stackApps } from '../../cluster/apps';
import { buildApps } from '../../cluster/ecosystem';
import type { Pm2Process } from '../../cluster/pm2';
import { loadStackSettings } from '../../cluster/settings';
import { planIsEmpty, planStack } from '../../cluster/stack-plan';

/** What pm2 would list for the apps `env` gives, all online. */
function running(env: Record<string, string>): Pm2Process[] {
  return buildApps(loadStackSettings(env), env).map((app, i) => ({
    name: app.name,
    pid: 100 + i,
    status: 'online',
    restarts: 0,
    uptimeMs: 1000,
    memoryBytes: 0,
    cpuPercent: 0,
    execMode: `${app.exec_mode}_mode`,
    args: Array.isArray(app.args) ? app.args.map(String) : [],
    env: { ...app.env },
  }));
}

function plan(now: Record<string, string>, processes: Pm2Process[]) {
  const settings = loadStackSettings(now);
  return planStack(buildApps(settings, now), processes, 'kh', stackApps(settings));
}

describe('planStack(apps, processes)', () => {
  it('does nothing when pm2 runs exactly what the settings give', () => {
    expect(planIsEmpty(plan({}, running({})))).to.equal(true);
  });

  it('starts everything on an empty pm2', () => {
    expect(plan({}, []).start).to.deep.equal(['kh-mariadb', 'kh-haproxy', 'kh-worker-8000', 'kh-worker-8001']);
  });

  it('starts only a new worker port and removes only a dropped one', () => {
    expect(plan({ WORKER_PORTS: '8000,8001,8002' }, running({}))).to.deep.include({
      start: ['kh-worker-8002'],
      remove: [],
      reload: [],
      replace: [],
    });
    expect(plan({ WORKER_PORTS: '8000' }, running({}))).to.deep.include({
      start: [],
      remove: ['kh-worker-8001'],
      reload: [],
      replace: [],
    });
  });

  it('reloads the workers whose settings changed, naming the variables, and touches nothing else', () => {
    const result = plan({ SLEEP_MAX_SECONDS: '5' }, running({}));
    expect(result.reload).to.deep.equal([
      { name: 'kh-worker-8000', changed: ['SLEEP_MAX_SECONDS'] },
      { name: 'kh-worker-8001', changed: ['SLEEP_MAX_SECONDS'] },
    ]);
    expect(result).to.deep.include({ start: [], remove: [], replace: [] });
    // Unsetting a variable is a change too (pm2 would keep the old value if it were left out).
    expect(plan({}, running({ SLEEP_MAX_SECONDS: '5' })).reload.map((c) => c.name)).to.deep.equal([
      'kh-worker-8000',
      'kh-worker-8001',
    ]);
  });

  it('adds the monitoring apps alone with MONITORING=1, and removes them alone without it', () => {
    expect(plan({ MONITORING: '1' }, running({}))).to.deep.include({
      start: ['kh-prometheus', 'kh-mysqld-exporter'],
      reload: [],
      replace: [],
      remove: [],
    });
    expect(plan({}, running({ MONITORING: '1' }))).to.deep.include({
      start: [],
      remove: ['kh-prometheus', 'kh-mysqld-exporter'],
    });
  });

  it('never restarts the database: a change to its settings is only reported', () => {
    const result = plan({ MYSQL_PORT: '3399' }, running({}));
    expect(result.restartDatabase).to.deep.equal({ name: 'kh-mariadb', changed: ['MYSQL_PORT'] });
    expect(result.replace.map((c) => c.name)).to.not.include('kh-mariadb');
  });

  it('replaces an errored app, and a worker still in fork mode (a reload cannot change the mode)', () => {
    const processes = running({});
    processes[1]!.status = 'errored';
    processes[2]!.execMode = 'fork_mode';
    expect(plan({}, processes).replace).to.deep.equal([
      { name: 'kh-haproxy', changed: ['errored'] },
      { name: 'kh-worker-8000', changed: ['exec_mode'] },
    ]);
  });

  it('leaves apps of other stacks alone', () => {
    const processes = [...running({}), ...running({ STACK_NAME: 'other' })];
    expect(planIsEmpty(plan({}, processes))).to.equal(true);
  });
});

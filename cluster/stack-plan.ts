// What `npm start` must do to bring a running stack in line with the current settings, decided from the
// app list the settings give and what pm2 runs now (pure, so it is unit-tested). Nothing that already
// runs as wanted is touched: a new worker port is started, a removed one drained and deleted, a worker
// whose settings changed is reloaded (rolling), and only what cannot change in place is replaced.
import { belongsToStack, type StackApp } from './apps';
import type { AppDefinition } from './ecosystem';
import type { Pm2Process } from './pm2';

export interface AppChange {
  name: string;
  /** What differs, for the user: variable names, or `exec_mode`/`args`. */
  changed: string[];
}

export interface StackPlan {
  /** In the settings, not in pm2. */
  start: string[];
  /** In pm2 but errored or stopped, or running in a way a reload cannot change: delete, then start. */
  replace: AppChange[];
  /** Workers whose environment changed: a rolling reload applies it without a refused request. */
  reload: AppChange[];
  /** Apps of the stack's prefix the settings no longer list: drain and delete. */
  remove: string[];
  /** The database's settings changed: restarting it is an outage, so only `npm run restart-db` does it. */
  restartDatabase?: AppChange;
  /**
   * Galera nodes whose settings changed: never restarted here, since restarting several nodes at once
   * loses quorum; `npm run restart-db` restarts them one at a time, each back to Synced before the next.
   */
  restartGaleraNodes?: AppChange[];
}

const PM2_MODE: Record<string, string> = { fork: 'fork_mode', cluster: 'cluster_mode' };

function differences(app: AppDefinition, running: Pm2Process): string[] {
  const changed = Object.entries(app.env ?? {})
    .filter(([key, value]) => running.env[key] !== value)
    .map(([key]) => key);
  if (app.exec_mode && PM2_MODE[app.exec_mode] !== running.execMode) changed.push('exec_mode');
  const args = Array.isArray(app.args) ? app.args.map(String) : [];
  if (args.join('\0') !== running.args.join('\0')) changed.push('args');
  return changed;
}

export function isBroken(proc: Pm2Process): boolean {
  return proc.status === 'errored' || proc.status === 'stopped';
}

/**
 * `apps`: the pm2 definitions of `stack`, the stack's apps (cluster/apps.ts), whose onChange says what
 * a change does: a worker is reloaded (rolling), a database's changed settings are reported, never
 * applied by a restart here (a stopped or errored one is started again, one start being no restart of
 * a running node), anything else is replaced.
 */
export function planStack(
  apps: AppDefinition[],
  processes: Pm2Process[],
  prefix: string,
  stack: readonly StackApp[],
): StackPlan {
  const plan: StackPlan = { start: [], replace: [], reload: [], remove: [] };
  const modelOf = (name: string) => stack.find((app) => app.name === name);
  for (const app of apps) {
    const running = processes.find((proc) => proc.name === app.name);
    if (!running) {
      plan.start.push(app.name);
      continue;
    }
    if (isBroken(running)) {
      plan.replace.push({ name: app.name, changed: [running.status] });
      continue;
    }
    const changed = differences(app, running);
    if (changed.length === 0) continue;
    const model = modelOf(app.name);
    if (model?.onChange === 'report' && model.kind === 'galera-node')
      plan.restartGaleraNodes = [...(plan.restartGaleraNodes ?? []), { name: app.name, changed }];
    else if (model?.onChange === 'report') plan.restartDatabase = { name: app.name, changed };
    else if (model?.onChange === 'rolling-reload' && !changed.includes('exec_mode'))
      plan.reload.push({ name: app.name, changed });
    else plan.replace.push({ name: app.name, changed });
  }
  plan.remove = processes
    .map((proc) => proc.name)
    .filter((name) => belongsToStack({ appPrefix: prefix }, name) && !apps.some((app) => app.name === name));
  return plan;
}

export function planIsEmpty(plan: StackPlan): boolean {
  return (
    plan.start.length + plan.replace.length + plan.reload.length + plan.remove.length === 0 &&
    !plan.restartDatabase &&
    !plan.restartGaleraNodes
  );
}

// `npm start`: brings the stack in line with the current settings and waits until every app is ready,
// then prints a table of processes and URLs and exits 0, or exits non-zero naming what did not come up.
// On a stack that runs already, only what differs is touched (cluster/stack-plan.ts): a new worker port
// is started, a removed one drained and deleted, a worker whose settings changed reloaded (rolling), the
// front door's server list reloaded in place, and monitoring added without restarting the rest.
import fs from 'node:fs';
import { appsOfKind, belongsToStack, stackApps, type StackApp } from '../apps';
import { buildApps } from '../ecosystem';
import { loadDotEnv } from '../env-file';
import { HAPROXY_RELOADED_ENV, reloadHaproxyInPlace } from '../haproxy/reload';
import { listProcesses, runPm2 } from '../pm2';
import { takenPorts } from '../port-check';
import { PRIVATE_UMASK } from '../private-files';
import { loadStackSettings, type StackSettings } from '../settings';
import { isBroken, planIsEmpty, planStack, type StackPlan } from '../stack-plan';
import { appReady, logPath, renderStatus, stackStatus, type AppStatus } from '../stack-status';
import { prepareStateDir, STATE_DIR_PREPARED_ENV } from '../state-dir';

// Before anything reads a setting: the project's .env, shell values winning (cluster/env-file.ts).
loadDotEnv();

function tail(file: string, lines = 15): string {
  try {
    return fs.readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log yet)';
  }
}

function healthy(statuses: AppStatus[]): boolean {
  return statuses.every(appReady);
}

/**
 * An app pm2 gave up on, or that restarted 3 times since we began waiting, will not come up by waiting
 * longer. (pm2's restart count also counts reloads, so only its growth while we wait says "crashing".)
 */
function crashing(s: AppStatus, restartsBefore: Map<string, number>): boolean {
  if (s.pm2 === undefined) return false;
  return isBroken(s.pm2) || s.pm2.restarts - (restartsBefore.get(s.name) ?? 0) >= 3;
}

async function waitUntilUp(
  settings: StackSettings,
  deadline: number,
  restartsBefore: Map<string, number>,
): Promise<AppStatus[]> {
  for (;;) {
    const statuses = await stackStatus(settings);
    if (healthy(statuses)) return statuses;
    if (statuses.some((s) => crashing(s, restartsBefore)) || Date.now() > deadline) return statuses;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

const list = (changes: { name: string; changed: string[] }[]) =>
  changes.map((c) => `${c.name} (${c.changed.join(', ')})`).join(', ');

/** Runs pm2; a refusal (e.g. the workers' build failed) stops `npm start` with pm2's own words. */
async function pm2OrFail(args: string[], env: NodeJS.ProcessEnv, timeoutMs?: number): Promise<void> {
  const result = await runPm2(args, { ...env, [STATE_DIR_PREPARED_ENV]: '1' }, timeoutMs);
  if (result.code !== 0 && !result.timedOut)
    throw new Error(`pm2 ${args[0]} failed:\n${(result.stderr || result.stdout).trim()}`);
}

/** Carries out the plan on a running stack, saying what it does. */
async function apply(
  plan: StackPlan,
  settings: StackSettings,
  stack: StackApp[],
  haproxyConfigChanged: boolean,
  timeoutMs: number,
): Promise<void> {
  const only = (names: string[]) => ['--only', names.join(',')];
  if (plan.replace.length > 0) {
    console.log(`Replacing (they cannot change in place): ${list(plan.replace)}.`);
    await runPm2(['delete', ...plan.replace.map((c) => c.name)]);
  }
  const toStart = [...plan.start, ...plan.replace.map((c) => c.name)];
  if (toStart.length > 0) {
    console.log(`Starting: ${toStart.join(', ')}.`);
    await pm2OrFail(
      ['start', 'ecosystem.config.js', ...only(toStart)],
      { PM2_CONCURRENT_ACTIONS: String(toStart.length), ...process.env },
      timeoutMs,
    );
  }
  // The front door's server list (and any HAProxy setting) follows the settings before workers leave;
  // the workers' pooled connections move to the new HAProxy process (cluster/haproxy/reload.ts).
  if (haproxyConfigChanged && (await reloadHaproxyInPlace(settings))) {
    console.log(
      'Reloaded HAProxy in place (its server list or settings changed); the workers moved their database connections to it.',
    );
  }
  if (plan.reload.length > 0) {
    console.log(`Reloading, one at a time, the workers whose settings changed: ${list(plan.reload)}.`);
    await pm2OrFail(
      ['reload', 'ecosystem.config.js', ...only(plan.reload.map((c) => c.name))],
      { ...process.env, PM2_CONCURRENT_ACTIONS: '1', [HAPROXY_RELOADED_ENV]: '1' },
      timeoutMs,
    );
  }
  if (plan.remove.length > 0) {
    console.log(`Draining and removing apps the settings no longer list: ${plan.remove.join(', ')}.`);
    await runPm2(['delete', ...plan.remove]);
  }
  // Prometheus re-reads its rendered scrape config (prepareStateDir wrote it) on SIGHUP.
  for (const prometheus of appsOfKind(stack, 'prometheus')) {
    if (!toStart.includes(prometheus.name) && plan.start.length + plan.remove.length > 0)
      await runPm2(['sendSignal', 'SIGHUP', prometheus.name]);
  }
  if (plan.restartGaleraNodes) {
    console.log(
      `The settings of Galera nodes changed (${list(plan.restartGaleraNodes)}); they keep running as they were.\n` +
        '`npm run restart-db` restarts them one at a time, each Synced again before the next.',
    );
  }
  if (plan.restartDatabase) {
    console.log(
      `The database's settings changed (${plan.restartDatabase.changed.join(', ')}); it keeps running as it was.\n` +
        'Restarting it is an outage for every worker: `npm run restart-db` does it when you choose to.',
    );
  }
}

async function main(): Promise<number> {
  // Before anything here talks to pm2, which launches its daemon if none runs: that daemon, and so every
  // app and the log files it opens for them, inherits this umask and creates owner-only files.
  process.umask(PRIVATE_UMASK);
  const given = loadStackSettings();
  const stack = stackApps(given);
  const apps = buildApps(given, process.env, stack);
  const processes = await listProcesses();
  const plan = planStack(apps, processes, given.appPrefix, stack);
  const fresh = !processes.some((proc) => belongsToStack(given, proc.name));
  // Restarts a reload or replacement below causes are expected: counted from after those, see apply().
  const restartsBefore = new Map(processes.map((proc) => [proc.name, proc.restarts]));

  // Ports of everything about to start must be free, or nothing starts (no crash loop left behind).
  const toStart = new Set([...plan.start, ...plan.replace.map((c) => c.name)]);
  const claims = stack.filter((app) => toStart.has(app.name)).flatMap((app) => app.ports);
  const taken = await takenPorts(claims.filter((claim) => !plan.replace.some((c) => c.name === claim.app)));
  if (taken.length > 0) {
    console.error(`Nothing was started:\n  - ${taken.join('\n  - ')}`);
    return 1;
  }

  // Every rendered file, once, and the generated passwords: pm2 loading ecosystem.config.js below is told
  // not to render them again.
  const { settings, haproxyChanged: haproxyConfigChanged } = prepareStateDir(given);
  if (!fresh && planIsEmpty(plan) && healthy(await stackStatus(settings))) {
    if (haproxyConfigChanged && (await reloadHaproxyInPlace(settings)))
      console.log('Reloaded HAProxy in place (its rendered config changed).');
    console.log(
      'The stack is already running as configured; nothing to do (`npm run reload` replaces every worker, `npm stop` stops it).\n',
    );
    console.log(renderStatus(await stackStatus(settings)));
    return 0;
  }

  // Counted from here: `pm2 start` itself waits for each app's ready (up to its listen_timeout), so it
  // is given only what is left of START_TIMEOUT_MS.
  const deadline = Date.now() + settings.startTimeoutMs;
  if (fresh) {
    console.log(`Starting ${apps.length} apps with pm2: ${apps.map((app) => app.name).join(', ')}`);
    // Every app at once: Galera nodes wait for one another (after a crash each recovers its position
    // before any bootstraps), so pm2's default of two starts at a time, each waiting for 'ready', stalls.
    const started = await runPm2(
      ['start', 'ecosystem.config.js'],
      { PM2_CONCURRENT_ACTIONS: String(apps.length), ...process.env, [STATE_DIR_PREPARED_ENV]: '1' },
      settings.startTimeoutMs,
    );
    if (started.code !== 0 && !started.timedOut) {
      console.error(`pm2 start failed:\n${started.stderr || started.stdout}`);
      return 1;
    }
  } else {
    await apply(plan, settings, stack, haproxyConfigChanged, settings.startTimeoutMs);
    for (const proc of await listProcesses()) restartsBefore.set(proc.name, proc.restarts);
  }

  const statuses = await waitUntilUp(settings, deadline, restartsBefore);
  console.log(`\n${renderStatus(statuses)}\n`);
  if (healthy(statuses)) {
    console.log(
      `Stack is up. Try: curl localhost:${settings.haproxy.httpPort}/todos (the front door) or localhost:${settings.workers.ports[0]}/todos`,
    );
    return 0;
  }
  const failed = statuses.filter((s) => !appReady(s));
  const broken = failed.filter((s) => crashing(s, restartsBefore));
  console.error(
    broken.length > 0
      ? `These did not come up (pm2 reports them crashed or restarting over and over): ${failed.map((s) => s.name).join(', ')}.`
      : `These did not come up within ${settings.startTimeoutMs / 1000}s: ${failed.map((s) => s.name).join(', ')}.`,
  );
  for (const s of failed) {
    console.error(`\n--- last lines of ${logPath(settings, s.name)} ---\n${tail(logPath(settings, s.name))}`);
  }
  if (broken.length > 0) {
    // Left restarting, a crashing app fills its log and burns CPU: stop it, keep it listed for inspection.
    await runPm2(['stop', ...broken.map((s) => s.name)]);
    console.error(`\nStopped ${broken.map((s) => s.name).join(', ')} so pm2 does not restart them over and over.`);
  }
  console.error('\nThe stack was left as it is for inspection (`npm run status`, `npm stop`).');
  return 1;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  },
);

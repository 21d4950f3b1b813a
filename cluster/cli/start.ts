// `npm start`: starts the stack with `pm2 start ecosystem.config.js`, waits until every worker is ready,
// prints a table of processes and URLs and exits 0, or exits non-zero naming what did not come up.
// On a stack that is already up it says so and leaves it running.
import fs from 'node:fs';
import { buildApps } from '../ecosystem';
import { runPm2 } from '../pm2';
import { loadStackSettings, type StackSettings } from '../settings';
import { logPath, renderStatus, stackStatus, type AppStatus } from '../stack-status';

const START_TIMEOUT_MS = Number(process.env.START_TIMEOUT_MS ?? 180_000);

function tail(file: string, lines = 15): string {
  try {
    return fs.readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log yet)';
  }
}

function healthy(statuses: AppStatus[]): boolean {
  return statuses.every((s) => s.pm2?.status === 'online' && (s.probe === undefined || s.probe.ready));
}

async function waitUntilUp(settings: StackSettings, deadline: number): Promise<AppStatus[]> {
  for (;;) {
    const statuses = await stackStatus(settings);
    if (healthy(statuses)) return statuses;
    // An app pm2 gave up on (errored) or that keeps crashing will not come up by waiting longer.
    const broken = statuses.filter((s) => s.pm2?.status === 'errored' || s.pm2?.status === 'stopped' || (s.pm2?.restarts ?? 0) >= 5);
    if (broken.length > 0 || Date.now() > deadline) return statuses;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

async function main(): Promise<number> {
  const settings = loadStackSettings();
  const names = buildApps(settings).map((app) => app.name);

  let before = await stackStatus(settings);
  const stale = before.filter((s) => s.stale).map((s) => s.name);
  if (stale.length > 0) {
    console.log(`Stopping apps the current settings no longer include: ${stale.join(', ')}.`);
    await runPm2(['delete', ...stale]);
    before = before.filter((s) => !s.stale);
  }
  if (healthy(before)) {
    console.log('The stack is already running; nothing to do (`npm stop` stops it).\n');
    console.log(renderStatus(before));
    return 0;
  }
  const leftovers = before.filter((s) => s.pm2 !== undefined).map((s) => s.name);
  if (leftovers.length > 0) {
    // Part of the stack is up, part is not: start it again cleanly rather than mixing generations.
    console.log(`Part of the stack is running (${leftovers.join(', ')}); restarting it cleanly.`);
    await runPm2(['delete', ...leftovers]);
  }

  console.log(`Starting ${names.length} apps with pm2: ${names.join(', ')}`);
  // Counted from here: `pm2 start` itself already waits for each app's ready (up to its listen_timeout).
  const deadline = Date.now() + START_TIMEOUT_MS;
  const started = await runPm2(['start', 'ecosystem.config.js']);
  if (started.code !== 0) {
    console.error(`pm2 start failed:\n${started.stderr || started.stdout}`);
    return 1;
  }

  const statuses = await waitUntilUp(settings, deadline);
  console.log(`\n${renderStatus(statuses)}\n`);
  if (healthy(statuses)) {
    console.log('Stack is up. Try: curl localhost:' + settings.workerPorts[0] + '/todos');
    return 0;
  }
  const failed = statuses.filter((s) => s.pm2?.status !== 'online' || (s.probe !== undefined && !s.probe.ready));
  const crashing = failed.filter((s) => s.pm2?.status === 'errored' || s.pm2?.status === 'stopped' || (s.pm2?.restarts ?? 0) >= 5);
  console.error(crashing.length > 0
    ? `These did not come up (pm2 reports them crashed or restarting over and over): ${failed.map((s) => s.name).join(', ')}.`
    : `These did not come up within ${START_TIMEOUT_MS / 1000}s: ${failed.map((s) => s.name).join(', ')}.`);
  for (const s of failed) {
    console.error(`\n--- last lines of ${logPath(settings, s.name)} ---\n${tail(logPath(settings, s.name))}`);
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

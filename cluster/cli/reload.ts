// `npm run reload`: replaces every worker with a fresh process (new code, new settings), one port at a
// time, without a refused connection or a failed request: pm2 cluster mode starts the new process, waits
// for its 'ready', then lets the old one drain. HAProxy re-reads its config in place (SIGUSR2) first,
// and the workers move their pooled connections to its new process; the database keeps running
// (`npm run restart-db` restarts it, at the cost of an outage).
// `npm run reload -- --haproxy`: only the in-place HAProxy reload (and the connections' move).
import { stackApps } from '../apps';
import { loadDotEnv } from '../env-file';
import { HAPROXY_RELOADED_ENV, reloadHaproxyInPlace } from '../haproxy/reload';
import { runPm2 } from '../pm2';
import { loadStackSettings } from '../settings';
import { prepareStateDir, STATE_DIR_PREPARED_ENV } from '../state-dir';
import { appReady, renderStatus, stackStatus } from '../stack-status';

// Before anything reads a setting: the project's .env, shell values winning (cluster/env-file.ts).
loadDotEnv();

async function main(): Promise<number> {
  const given = loadStackSettings();
  const before = await stackStatus(given);
  if (!before.some((s) => s.pm2 && !s.stale)) {
    console.error('The stack is not running: `npm start` starts it.');
    return 1;
  }
  const started = Date.now();
  // HAProxy re-reads the rendered files: render them from the current settings first.
  const { settings } = prepareStateDir(given);
  if (process.argv.includes('--haproxy')) {
    if (!(await reloadHaproxyInPlace(settings))) {
      console.error('HAProxy is not running: `npm start` starts it.');
      return 1;
    }
    console.log(
      `Reloaded HAProxy in place; the workers moved their database connections to it (${((Date.now() - started) / 1000).toFixed(1)}s).`,
    );
    return 0;
  }
  const workers = stackApps(settings)
    .filter((app) => app.onChange === 'rolling-reload')
    .map((app) => app.name);
  console.log(`Reloading ${workers.join(', ')}, one at a time; HAProxy reloads in place, the database keeps running.`);
  // HAProxy first, waiting for the workers' connections to move: the old workers would otherwise keep
  // theirs on the old HAProxy process until its hard-stop-after, which a long reload outlasts.
  await reloadHaproxyInPlace(settings);
  // The ecosystem file, loaded for a reload, lists only the workers (cluster/pm2-command.ts), and is told
  // HAProxy was reloaded already. One app at a time: each port has at most one extra process at once.
  const result = await runPm2(
    ['reload', 'ecosystem.config.js'],
    { ...process.env, PM2_CONCURRENT_ACTIONS: '1', [HAPROXY_RELOADED_ENV]: '1', [STATE_DIR_PREPARED_ENV]: '1' },
    settings.startTimeoutMs,
  );
  if (result.code !== 0) {
    console.error(
      result.timedOut
        ? `The reload did not finish within ${settings.startTimeoutMs / 1000}s.`
        : result.stderr || result.stdout,
    );
    return 1;
  }
  const stale = before.filter((s) => s.stale && s.pm2).map((s) => s.name);
  if (stale.length > 0) {
    console.log(`Draining and removing apps the settings no longer list: ${stale.join(', ')}.`);
    await runPm2(['delete', ...stale]);
  }
  const after = await stackStatus(settings);
  console.log(`\n${renderStatus(after)}\n\nReloaded in ${((Date.now() - started) / 1000).toFixed(1)}s.`);
  return after.every(appReady) ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  },
);

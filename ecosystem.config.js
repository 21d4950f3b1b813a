// pm2 loads this file with require(), so it stays CommonJS and only delegates: the app list is generated
// by cluster/ecosystem.ts from the environment (WORKER_PORTS, MYSQL_HOST, MONITORING, ...).
// `pm2 reload ecosystem.config.js` gets only the workers and reloads HAProxy in place (see
// cluster/pm2-command.ts): the database keeps running.
// It loads only the compiled JavaScript in dist/ (built by `npm install`, `npm run build` and `npm start`:
// cluster/build/build.ts) and never builds: a build older than the sources is refused, not run.
const fs = require('node:fs');
const path = require('node:path');

const DIST = path.join(__dirname, 'dist');
const built = (file) => require(path.join(DIST, file));
/** pm2 subcommands that start nothing: a stale build does not keep anyone from stopping the stack. */
const STARTS_NOTHING = new Set(['stop', 'delete', 'kill', 'describe', 'show', 'env', 'logs', 'flush']);

function checkBuild() {
  if (!fs.existsSync(path.join(DIST, 'cluster', 'build', 'stamp.js'))) {
    throw new Error(
      'The TypeScript has not been built into dist/: run npm run build (npm install and npm start build too).',
    );
  }
  const { buildState, decideBuild, describeState } = built('cluster/build/stamp.js');
  const { pm2Subcommand } = built('cluster/pm2-command.js');
  const state = buildState(__dirname);
  const mustBeFresh = !STARTS_NOTHING.has(pm2Subcommand(process.argv) ?? '');
  if (decideBuild(state, { canBuild: false, mustBeFresh }) === 'refuse') {
    throw new Error(`${describeState(state)}: run npm run build (or npm start, which builds).`);
  }
}

function load() {
  checkBuild();
  // Before anything reads a setting: the project's .env, shell values winning.
  built('cluster/env-file.js').loadDotEnv();
  const { loadStackSettings } = built('cluster/settings.js');
  const { stackApps } = built('cluster/apps.js');
  const { buildApps } = built('cluster/ecosystem.js');
  const { prepareStateDir, STATE_DIR_PREPARED_ENV } = built('cluster/state-dir.js');
  const { ensureSystemPackagesSync } = built('cluster/ensure-packages-sync.js');
  const { appsForSubcommand, pm2Subcommand } = built('cluster/pm2-command.js');
  const { reloadHaproxy } = built('cluster/haproxy/reload.js');

  ensureSystemPackagesSync();
  const settings = loadStackSettings(process.env);
  const stack = stackApps(settings);
  const apps = buildApps(settings, process.env, stack);
  // Unless the command that runs pm2 (npm start, npm run reload) has just done so.
  if (process.env[STATE_DIR_PREPARED_ENV] !== '1') prepareStateDir(settings);
  const subcommand = pm2Subcommand(process.argv);
  if (subcommand === 'reload') reloadHaproxy(settings);
  return appsForSubcommand(subcommand, apps, stack);
}

try {
  module.exports = { apps: load() };
} catch (error) {
  // pm2 would print "File ecosystem.config.js malformated" and a stack trace below the real message
  // (a configuration problem, listed in full): print the message alone and stop.
  console.error(error instanceof Error ? error.message : String(error));
  process.exit(1);
}

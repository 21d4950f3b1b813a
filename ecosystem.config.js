// pm2 loads this file with require(), so it stays CommonJS and only delegates: the app list is generated
// by cluster/ecosystem.ts from the environment (WORKER_PORTS, MYSQL_HOST, MONITORING, ...).
// `pm2 reload ecosystem.config.js` gets only the workers and reloads HAProxy in place (see
// cluster/pm2-command.ts): the database keeps running.
require('tsx/cjs');
const { loadStackSettings } = require('./cluster/settings');
const { stackApps } = require('./cluster/apps');
const { buildApps } = require('./cluster/ecosystem');
const { prepareStateDir, STATE_DIR_PREPARED_ENV } = require('./cluster/state-dir');
const { ensureSystemPackagesSync } = require('./cluster/ensure-packages-sync');
const { appsForSubcommand, pm2Subcommand } = require('./cluster/pm2-command');
const { reloadHaproxy } = require('./cluster/haproxy/reload');
const { ensureWorkerBuildSync } = require('./cluster/worker/build');

function load() {
  require('./cluster/env-file').loadDotEnv();
  ensureSystemPackagesSync();
  const settings = loadStackSettings(process.env);
  const stack = stackApps(settings);
  const apps = buildApps(settings, process.env, stack);
  // Unless the command that runs pm2 (npm start, npm run reload) has just done so.
  if (process.env[STATE_DIR_PREPARED_ENV] !== '1') prepareStateDir(settings);
  ensureWorkerBuildSync();
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

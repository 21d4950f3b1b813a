// pm2 loads this file with require(), so it stays CommonJS and only delegates: the app list is generated
// by cluster/ecosystem.ts from the environment (WORKER_PORTS, MYSQL_HOST, MONITORING, ...).
require('tsx/cjs');
const { loadStackSettings } = require('./cluster/settings');
const { buildApps } = require('./cluster/ecosystem');
const { prepareStateDir } = require('./cluster/state-dir');
const { ensureSystemPackagesSync } = require('./cluster/ensure-packages-sync');

ensureSystemPackagesSync();

const settings = loadStackSettings(process.env);
prepareStateDir(settings);

module.exports = { apps: buildApps(settings, process.env) };

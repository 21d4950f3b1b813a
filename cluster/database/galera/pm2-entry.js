// pm2's entry for one Galera node (args: the node name) or the health agent (arg: `agent`): the compiled
// code in dist/ (built ahead of time: cluster/build/build.ts), like cluster/database/pm2-entry.js.
if (process.argv[2] === 'agent') require('../../../dist/cluster/database/galera/agent-server.js');
else require('../../../dist/cluster/database/galera/node-server.js');

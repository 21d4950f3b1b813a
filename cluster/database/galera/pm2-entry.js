// pm2's entry for one Galera node (args: the node name) or the health agent (arg: `agent`): plain JS,
// like cluster/database/pm2-entry.js, so pm2 needs no TypeScript loader of its own.
require('tsx/cjs');
if (process.argv[2] === 'agent') require('./agent-server.ts');
else require('./node-server.ts');

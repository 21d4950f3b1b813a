// pm2's entry for the embedded MariaDB wrapper: plain JS that pm2 can load as is; it registers tsx and runs
// server.ts (only the workers run compiled JavaScript: cluster/worker/pm2-entry.js).
require('tsx/cjs');
require('./server.ts');

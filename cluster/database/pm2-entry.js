// pm2's entry for the embedded MariaDB wrapper: the compiled server.ts (dist/, built ahead of time:
// cluster/build/build.ts), so pm2 runs only JavaScript.
require('../../dist/cluster/database/server.js');

// pm2's entry for the embedded MariaDB wrapper: plain JS for the same reason as worker.js.
require('tsx/cjs');
require('./server.ts');

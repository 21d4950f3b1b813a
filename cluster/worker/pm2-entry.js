// pm2's entry for a Koa worker: the compiled server (dist/server/main.js, built from server/ by
// cluster/worker/build.ts whenever pm2 loads ecosystem.config.js and a source is newer), so no
// TypeScript loader runs inside a worker. pm2 starts it with --enable-source-maps: stack traces name
// the .ts sources.
require('../../dist/server/main.js');

// pm2's entry for a Koa worker: the compiled server (dist/server/main.js, built ahead of time by
// `npm install`, `npm run build` or `npm start`: cluster/build/build.ts), so no TypeScript loader runs
// inside a worker. pm2 starts it with --enable-source-maps: stack traces name the .ts sources.
require('../../dist/server/main.js');

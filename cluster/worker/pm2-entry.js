// pm2's entry for a Koa worker. pm2 picks a TypeScript loader of its own for a `.ts` script (ts-node,
// which this project does not use) and logs a warning on every start when it is missing; a plain `.js`
// entry that registers tsx and loads the TypeScript source keeps the logs clean, with no build step.
require('tsx/cjs');
require('../../server/main.ts');

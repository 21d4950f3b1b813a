// The entry of the npm scripts users run: `node cluster/build/run.js <command> [args]` makes sure dist/
// holds the build of the current sources (cluster/build/build.ts), then runs the compiled command,
// dist/cluster/cli/<command>.js, with plain node: no tsx, no TypeScript needed once built.
//   node cluster/build/run.js build      compile now (npm run build)
//   node cluster/build/run.js prepare    npm install's prepare: compile when TypeScript is installed;
//                                        without it (npm ci --omit=dev), say when the build is stale
// A stale build is rebuilt when TypeScript is installed. Without it, the commands that start code under
// pm2 (start, reload, restart-db, ...) refuse; stop, status, logs and db:shell warn and go on.
// Plain JavaScript, because it must run before the first build.
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..', '..');
const DIST = path.join(ROOT, 'dist') + path.sep;
const BUILT = path.join(DIST, 'cluster', 'build', 'build.js');
/** Commands that only look at or stop a stack: a stale build in a production install does not stop them. */
const RUN_STALE = new Set(['stop', 'status', 'logs', 'db-shell']);

function fail(message) {
  console.error(message);
  process.exit(1);
}

function compiler() {
  try {
    return require.resolve('typescript/bin/tsc', { paths: [ROOT] });
  } catch {
    return undefined;
  }
}

/**
 * dist/cluster/build/build.js, compiling everything first when there is no build at all (a fresh clone);
 * `bootstrapped` says it just did.
 */
function loadBuild({ required }) {
  if (fs.existsSync(BUILT)) return { build: require(BUILT), bootstrapped: false };
  const tsc = compiler();
  if (tsc === undefined) {
    if (!required) return undefined;
    fail(
      'There is no build in dist/ and TypeScript is not installed (a production install): build first where the dev dependencies are installed (`npm install` builds, or `npm run build`), then install with `npm ci --omit=dev`.',
    );
  }
  console.error('No build in dist/ yet: building (tsc -p tsconfig.build.json) ...');
  const result = spawnSync(process.execPath, [tsc, '-p', path.join(ROOT, 'tsconfig.build.json')], {
    cwd: ROOT,
    stdio: 'inherit',
  });
  if (result.status !== 0) fail('The build (tsc -p tsconfig.build.json) failed (see above).');
  return { build: require(BUILT), bootstrapped: true };
}

function main() {
  const [command, ...args] = process.argv.slice(2);
  if (!command) fail('Usage: node cluster/build/run.js build|prepare|<command in cluster/cli> [args]');
  if (command === 'build') {
    const { build } = loadBuild({ required: true });
    try {
      build.buildSync(build.BUILD_ROOT);
    } catch (error) {
      fail(error.message);
    }
    console.error('Built dist/ (tsc -p tsconfig.build.json).');
    return;
  }
  if (command === 'prepare') {
    const loaded = loadBuild({ required: false });
    if (loaded === undefined) {
      // npm ci --omit=dev of sources nobody built: the install itself is fine, npm start says what to do.
      console.error('Warning: no build in dist/ and no TypeScript to make one; `npm start` will refuse to run.');
      return;
    }
    try {
      // Just compiled: the stamp comes from a second, incremental tsc (which finds nothing to do).
      loaded.build.ensureBuild({ mustBeFresh: false, quiet: loaded.bootstrapped });
    } catch (error) {
      fail(error.message);
    }
    return;
  }
  const cli = path.join(ROOT, 'dist', 'cluster', 'cli', `${command}.js`);
  const { build, bootstrapped } = loadBuild({ required: true });
  try {
    if (build.ensureBuild({ mustBeFresh: !RUN_STALE.has(command), quiet: bootstrapped }) === 'built') {
      // The command must load the new build, this file's copy of the build module among it.
      for (const file of Object.keys(require.cache)) if (file.startsWith(DIST)) delete require.cache[file];
    }
  } catch (error) {
    fail(error.message);
  }
  if (!fs.existsSync(cli)) fail(`No command ${command} in cluster/cli/.`);
  // The command sees the argv it would under `node dist/cluster/cli/<command>.js [args]`.
  process.argv = [process.argv[0], cli, ...args];
  require(cli);
}

main();

// The build ahead of time: tsc -p tsconfig.build.json compiles server/, cluster/ and monitoring/ into
// dist/ (CommonJS, source maps), so pm2 runs only JavaScript and ecosystem.config.js loads only compiled
// code. It runs in `npm install` (the prepare script), `npm run build`, and before any command starts code
// under pm2 (`npm start`, `npm run reload`, `npm run restart-db`: cluster/build/run.js, and runPm2() for
// the same commands run from the sources), never inside ecosystem.config.js, which only checks the stamp
// (cluster/build/stamp.ts) and refuses a stale build.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import * as stampModule from './stamp';

/** The project root, from cluster/build/ (sources) or dist/cluster/build/ (the build). */
export const BUILD_ROOT = path.resolve(__dirname, __filename.endsWith('.ts') ? '../..' : '../../..');
const LOCK_WAIT_MS = 120_000;

export class BuildRefused extends Error {}

/** tsc of the project's own TypeScript, or undefined when it is not installed (`npm ci --omit=dev`). */
export function typescriptCompiler(root: string = BUILD_ROOT): string | undefined {
  try {
    return require.resolve('typescript/bin/tsc', { paths: [root] });
  } catch {
    return undefined;
  }
}

/** Blocks the thread for `ms` (the build is synchronous: it also runs inside runPm2's caller). */
function pause(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/**
 * Runs `build` holding dist/.build-lock, so two commands starting at once (npm start in two shells, a
 * test beside a user) never write dist/ together; the second waits, then finds the build fresh.
 */
function withBuildLock<T>(root: string, build: () => T): T {
  const lock = path.join(root, stampModule.DIST_DIR, '.build-lock');
  fs.mkdirSync(path.dirname(lock), { recursive: true });
  const deadline = Date.now() + LOCK_WAIT_MS;
  for (;;) {
    try {
      fs.closeSync(fs.openSync(lock, 'wx'));
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const age = Date.now() - (fs.statSync(lock, { throwIfNoEntry: false })?.mtimeMs ?? Date.now());
      // A lock older than any build is a leftover of a killed build.
      if (age > LOCK_WAIT_MS || Date.now() > deadline) fs.rmSync(lock, { force: true });
      else pause(200);
    }
  }
  try {
    return build();
  } finally {
    fs.rmSync(lock, { force: true });
  }
}

/**
 * The stamp module as it is on disk now. Under tsx that is the source this file imported; in the build,
 * tsc may just have replaced dist/cluster/build/stamp.js, and the stamp must be written the way the new
 * code (which ecosystem.config.js loads next) reads it.
 */
function currentStampModule(): typeof stampModule {
  if (__filename.endsWith('.ts')) return stampModule;
  const file = require.resolve('./stamp');
  delete require.cache[file];
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- a fresh load of a file just rewritten
  return require(file) as typeof stampModule;
}

function readLink(file: string): string | undefined {
  try {
    return fs.readlinkSync(file);
  } catch {
    return undefined;
  }
}

function linkAssets(root: string): void {
  for (const dir of stampModule.ASSET_DIRS) {
    const link = path.join(root, stampModule.DIST_DIR, dir);
    const target = path.relative(path.dirname(link), path.join(root, dir));
    if (readLink(link) === target) continue;
    fs.rmSync(link, { recursive: true, force: true });
    fs.mkdirSync(path.dirname(link), { recursive: true });
    fs.symlinkSync(target, link, 'dir');
  }
}

/**
 * Compiles into dist/ and writes the stamp; throws with tsc's output when the build fails. The stamp
 * records the sources as they were when tsc started; one edited while tsc ran makes it compile again.
 */
export function buildSync(root: string = BUILD_ROOT, options: { clean?: boolean; ifStale?: boolean } = {}): void {
  const tsc = typescriptCompiler(root);
  if (tsc === undefined) {
    throw new BuildRefused('TypeScript is not installed (a production install?): `npm install` installs it.');
  }
  withBuildLock(root, () => {
    // Another command may have built it while this one waited for the lock.
    if (options.ifStale && currentStampModule().buildState(root).fresh) return;
    // An output removed by hand: tsc's incremental state would think it is still there.
    if (options.clean) fs.rmSync(path.join(root, stampModule.DIST_DIR, '.tsbuildinfo'), { force: true });
    for (let attempt = 1; ; attempt += 1) {
      const before = stampModule.inputDigests(root);
      const result = spawnSync(process.execPath, [tsc, '-p', path.join(root, 'tsconfig.build.json')], {
        cwd: root,
        encoding: 'utf8',
      });
      if (result.status !== 0) {
        throw new Error(`The build (tsc -p tsconfig.build.json) failed:\n${result.stdout}${result.stderr}`.trimEnd());
      }
      const unchanged = stampModule.sameDigests(before, stampModule.inputDigests(root));
      if (!unchanged && attempt < 3) continue;
      linkAssets(root);
      const current = currentStampModule();
      // Still changing after three builds: the stamp of the first, so the next command builds again.
      current.writeStamp(root, unchanged ? current.inputDigests(root) : before);
      return;
    }
  });
}

export type EnsureOutcome = 'fresh' | 'built' | 'stale';

/**
 * Makes sure the code about to run is the build of the current sources: builds when it is not and
 * TypeScript is installed; otherwise throws BuildRefused (`mustBeFresh`) or warns on stderr and goes on.
 */
export function ensureBuild(options: { mustBeFresh: boolean; root?: string; quiet?: boolean }): EnsureOutcome {
  const root = options.root ?? BUILD_ROOT;
  const state = stampModule.buildState(root);
  const canBuild = typescriptCompiler(root) !== undefined;
  const action = stampModule.decideBuild(state, { canBuild, mustBeFresh: options.mustBeFresh });
  if (action === 'run') return 'fresh';
  const why = stampModule.describeState(state);
  if (action === 'refuse') {
    throw new BuildRefused(
      `${why}, and TypeScript is not installed to rebuild it: run \`npm run build\` where the dev dependencies are installed (\`npm install\`), or install the build that matches these sources.`,
    );
  }
  if (action === 'warn') {
    console.error(`Warning: ${why}; running the build as it is (\`npm run build\` rebuilds it).`);
    return 'stale';
  }
  if (!options.quiet) console.error(`${why}: building (tsc -p tsconfig.build.json) ...`);
  buildSync(root, { clean: !state.fresh && state.reason === 'incomplete', ifStale: true });
  return 'built';
}

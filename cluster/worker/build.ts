// The workers run compiled JavaScript (dist/server/, from tsconfig.build.json, with source maps), so
// no TypeScript loader sits in a worker's memory or start-up time. The build runs whenever pm2 loads
// ecosystem.config.js (npm start, npm run reload, pm2 start|reload ecosystem.config.js) and a source
// is newer than the build, so a `git pull` followed by a reload always runs the new code.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { PROJECT_ROOT } from '../settings';

export const WORKER_BUILD_MAIN = path.join(PROJECT_ROOT, 'dist', 'server', 'main.js');
const BUILD_CONFIG = path.join(PROJECT_ROOT, 'tsconfig.build.json');
/** What the build reads besides server/: its config, the base config, and package.json (app_info's version). */
const BUILD_INPUTS = ['tsconfig.build.json', 'tsconfig.json', 'package.json'];

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestMtime(full));
    else if (entry.name.endsWith('.ts')) newest = Math.max(newest, fs.statSync(full).mtimeMs);
  }
  return newest;
}

/** True when there is no build, or a source or config is newer than it. */
export function workerBuildIsStale(root: string = PROJECT_ROOT, main: string = WORKER_BUILD_MAIN): boolean {
  if (!fs.existsSync(main)) return true;
  const built = fs.statSync(main).mtimeMs;
  const inputs = [
    newestMtime(path.join(root, 'server')),
    ...BUILD_INPUTS.map((file) => fs.statSync(path.join(root, file), { throwIfNoEntry: false })?.mtimeMs ?? 0),
  ];
  return Math.max(...inputs) > built;
}

const LOCK = path.join(PROJECT_ROOT, 'dist', '.build-lock');
const LOCK_WAIT_MS = 120_000;

/** Blocks the thread for `ms` (this runs while pm2 loads its config file, which is synchronous). */
function pause(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/**
 * Runs `build` holding dist/.build-lock, so two commands starting at once (npm start in two shells, a
 * test beside a user) never write dist/ together; the second waits, then finds the build fresh.
 */
function withBuildLock<T>(build: () => T): T {
  fs.mkdirSync(path.dirname(LOCK), { recursive: true });
  const deadline = Date.now() + LOCK_WAIT_MS;
  for (;;) {
    try {
      fs.closeSync(fs.openSync(LOCK, 'wx'));
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      // A lock older than any build is a leftover of a killed build.
      if (Date.now() - fs.statSync(LOCK, { throwIfNoEntry: false })!.mtimeMs > LOCK_WAIT_MS || Date.now() > deadline) {
        fs.rmSync(LOCK, { force: true });
      } else {
        pause(200);
      }
    }
  }
  try {
    return build();
  } finally {
    fs.rmSync(LOCK, { force: true });
  }
}

/** Compiles server/ into dist/ when stale; throws with tsc's output when the build fails. */
export function ensureWorkerBuildSync(): boolean {
  if (!workerBuildIsStale()) return false;
  return withBuildLock(() => {
    if (!workerBuildIsStale()) return false;
    const tsc = require.resolve('typescript/bin/tsc');
    const result = spawnSync(process.execPath, [tsc, '-p', BUILD_CONFIG], { cwd: PROJECT_ROOT, encoding: 'utf8' });
    if (result.status !== 0) {
      throw new Error(`Building the workers (tsc -p tsconfig.build.json) failed:\n${result.stdout}${result.stderr}`);
    }
    // tsc leaves an unchanged output file alone; touch the entry so the build counts as newer than its sources.
    const now = new Date();
    fs.utimesSync(WORKER_BUILD_MAIN, now, now);
    return true;
  });
}

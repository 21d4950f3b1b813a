// Whether dist/ holds the build of the current sources. The build (cluster/build/build.ts) writes
// dist/.build-stamp.json: the SHA-256 of every input (each .ts under the compiled folders, the two
// tsconfigs, package.json) as it was when tsc started. The build is fresh when every input hashes the
// same now, no input was added or removed, and every output it made is still there. Contents, not mtimes:
// a `git checkout` that touches files without changing them costs no rebuild, and a change within the
// same second as the build is still seen.
//
// Self-contained (Node's built-ins only): ecosystem.config.js and cluster/build/run.js load the compiled
// copy (dist/cluster/build/stamp.js) before anything else of the build, and build.ts reloads it from disk
// after tsc replaced it.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

/** The folders tsconfig.build.json compiles (its "include"), relative to the project root. */
export const SOURCE_DIRS: readonly string[] = ['server', 'cluster', 'monitoring'];
/** What else the build reads: its config, the base config, and package.json (emitted for app_info's version). */
export const CONFIG_FILES: readonly string[] = ['tsconfig.build.json', 'tsconfig.json', 'package.json'];
/**
 * Folders of files that are not TypeScript, which the code finds next to itself (`path.join(__dirname,
 * ...)`): the build links each into dist/ (a relative symlink, so the build always sees the current files).
 */
export const ASSET_DIRS: readonly string[] = ['cluster/database/galera/sst', 'monitoring/rules'];

export const DIST_DIR = 'dist';
export const STAMP_FILE = path.join(DIST_DIR, '.build-stamp.json');
const STAMP_VERSION = 1;

export type Digests = Record<string, string>;

interface Stamp {
  version: number;
  builtAt: string;
  inputs: Digests;
}

function listTypeScript(root: string, dir: string, out: string[]): void {
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(path.join(root, dir), { withFileTypes: true });
  } catch {
    return;
  }
  for (const entry of entries) {
    const rel = path.posix.join(dir, entry.name);
    if (entry.isDirectory()) listTypeScript(root, rel, out);
    else if (entry.isFile() && entry.name.endsWith('.ts')) out.push(rel);
  }
}

/** Every input of the build, relative to `root` with '/' separators, sorted. */
export function buildInputs(root: string): string[] {
  const files: string[] = [];
  for (const dir of SOURCE_DIRS) listTypeScript(root, dir, files);
  for (const file of CONFIG_FILES) if (fs.existsSync(path.join(root, file))) files.push(file);
  return files.sort();
}

/** The SHA-256 of each input's contents. */
export function inputDigests(root: string): Digests {
  const digests: Digests = {};
  for (const file of buildInputs(root)) {
    digests[file] = createHash('sha256')
      .update(fs.readFileSync(path.join(root, file)))
      .digest('hex');
  }
  return digests;
}

/** What the build makes of the inputs: one .js per .ts (not .d.ts), package.json, and the asset links. */
export function expectedOutputs(inputs: Iterable<string>): string[] {
  const outputs: string[] = [];
  for (const file of inputs) {
    if (file.endsWith('.d.ts')) continue;
    if (file.endsWith('.ts')) outputs.push(path.posix.join(DIST_DIR, file.replace(/\.ts$/, '.js')));
  }
  outputs.push(path.posix.join(DIST_DIR, 'package.json'));
  for (const dir of ASSET_DIRS) outputs.push(path.posix.join(DIST_DIR, dir));
  return outputs;
}

export type BuildState =
  | { fresh: true }
  | {
      fresh: false;
      /** missing: no stamp (never built); stale: an input changed, came or went; incomplete: an output is gone. */
      reason: 'missing' | 'stale' | 'incomplete';
      /** The inputs that differ (stale) or the outputs that are gone (incomplete), sorted. */
      files: string[];
    };

function readStamp(root: string): Stamp | undefined {
  try {
    const stamp = JSON.parse(fs.readFileSync(path.join(root, STAMP_FILE), 'utf8')) as Stamp;
    return stamp.version === STAMP_VERSION && typeof stamp.inputs === 'object' ? stamp : undefined;
  } catch {
    return undefined;
  }
}

/** Compares the stamp with the sources as they are now (`now`: their digests, computed when not given). */
export function buildState(root: string, now: Digests = inputDigests(root)): BuildState {
  const stamp = readStamp(root);
  if (stamp === undefined) return { fresh: false, reason: 'missing', files: [] };
  const names = new Set([...Object.keys(stamp.inputs), ...Object.keys(now)]);
  const changed = [...names].filter((name) => stamp.inputs[name] !== now[name]).sort();
  if (changed.length > 0) return { fresh: false, reason: 'stale', files: changed };
  const gone = expectedOutputs(Object.keys(now)).filter((file) => !fs.existsSync(path.join(root, file)));
  if (gone.length > 0) return { fresh: false, reason: 'incomplete', files: gone };
  return { fresh: true };
}

/** One line saying why the build is not fresh (empty for a fresh one). */
export function describeState(state: BuildState): string {
  if (state.fresh) return '';
  const some = (files: string[]) =>
    files.length <= 3 ? files.join(', ') : `${files.slice(0, 3).join(', ')} and ${files.length - 3} more`;
  switch (state.reason) {
    case 'missing':
      return 'The TypeScript has not been built (no dist/.build-stamp.json)';
    case 'stale':
      return `The build in dist/ is older than the sources (changed since: ${some(state.files)})`;
    case 'incomplete':
      return `The build in dist/ is incomplete (missing: ${some(state.files)})`;
  }
}

/**
 * What a command does about the build: `run` the built code (fresh), `build` it first (TypeScript is
 * installed), or, with TypeScript absent (a production install), `refuse` (a command that starts code
 * under pm2 must never run old code) or `warn` and go on (stop, status, logs: a stale build must not keep
 * anyone from stopping or inspecting a stack).
 */
export type BuildAction = 'run' | 'build' | 'refuse' | 'warn';

export function decideBuild(state: BuildState, options: { canBuild: boolean; mustBeFresh: boolean }): BuildAction {
  if (state.fresh) return 'run';
  if (options.canBuild) return 'build';
  return options.mustBeFresh ? 'refuse' : 'warn';
}

/** Records `inputs` (their digests when tsc started) as the sources of the build now in dist/. */
export function writeStamp(root: string, inputs: Digests): void {
  const stamp: Stamp = { version: STAMP_VERSION, builtAt: new Date().toISOString(), inputs };
  const file = path.join(root, STAMP_FILE);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  // Written whole, then renamed: a reader never sees half a stamp.
  fs.writeFileSync(`${file}.tmp`, `${JSON.stringify(stamp, null, 1)}\n`);
  fs.renameSync(`${file}.tmp`, file);
}

export function sameDigests(a: Digests, b: Digests): boolean {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((key) => a[key] === b[key]);
}

// What app_info reports about the build: the version from package.json and the git commit, both read
// once at load, never per request or per scrape.
import { execFileSync } from 'node:child_process';
import pkg from '../package.json';

export const version: string = pkg.version;

const COMMIT = /^[0-9A-Za-z._-]{1,64}$/;

/**
 * The commit this code is: APP_COMMIT when the start command sets it (a deploy without .git), else
 * `git rev-parse HEAD` in `dir`'s repository, else 'unknown' (no git, not a checkout, a bad value).
 * git finds the repository from any folder inside it, so server/ and the build's dist/server/ agree.
 */
export function readCommit(appCommit: string | undefined, dir: string): string {
  const given = appCommit?.trim();
  if (given) return COMMIT.test(given) ? given : 'unknown';
  try {
    const head = execFileSync('git', ['rev-parse', 'HEAD'], {
      cwd: dir,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
      timeout: 5000,
    }).trim();
    return COMMIT.test(head) ? head : 'unknown';
  } catch {
    return 'unknown';
  }
}

// Build metadata rather than configuration, so read here and not in config.ts: config.ts validates what
// an operator tunes; a wrong APP_COMMIT only shows as 'unknown'.
export const commit: string = readCommit(process.env.APP_COMMIT, __dirname);

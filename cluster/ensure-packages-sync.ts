// For `pm2 start ecosystem.config.js` run straight after `npm install` on a fresh machine: install the
// missing Debian packages first, as `npm start` and `npm test` do, in a child process so the output
// reaches the user's terminal. Does nothing (no child) when every package the chosen DB_TOPOLOGY (and
// MONITORING=1, if set) needs is installed (the child reads the same environment).
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { PROJECT_ROOT } from './settings';
import { missingPackages } from './system-packages';

export function ensureSystemPackagesSync(): void {
  if (missingPackages().length === 0) return;
  // The compiled command next to this compiled file (dist/cluster/cli/), or the source under tsx.
  const fromSource = __filename.endsWith('.ts');
  const cli = path.join(__dirname, 'cli', `ensure-system-packages${fromSource ? '.ts' : '.js'}`);
  const result = spawnSync(process.execPath, [...(fromSource ? ['--require', require.resolve('tsx/cjs')] : []), cli], {
    cwd: PROJECT_ROOT,
    stdio: 'inherit',
  });
  if (result.status !== 0) {
    throw new Error('The Debian packages the stack needs are missing and could not be installed (see above).');
  }
}

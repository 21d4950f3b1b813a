// The workers' build (cluster/worker/build.ts): pm2 runs dist/server/main.js, rebuilt whenever a source is
// newer, and it runs without any TypeScript loader.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { PROJECT_ROOT } from '../../cluster/settings';
import { ensureWorkerBuildSync, WORKER_BUILD_MAIN, workerBuildIsStale } from '../../cluster/worker/build';

describe('workerBuildIsStale(root, main)', () => {
  let root: string;
  beforeEach(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'kh-build-'));
    fs.mkdirSync(path.join(root, 'server', 'db'), { recursive: true });
    fs.writeFileSync(path.join(root, 'server', 'db', 'pool.ts'), '');
  });
  afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

  const setMtime = (file: string, secondsAgo: number) => {
    const at = new Date(Date.now() - secondsAgo * 1000);
    fs.utimesSync(file, at, at);
  };

  it('is stale without a build, or when a source under server/, a tsconfig or package.json is newer than it', () => {
    const main = path.join(root, 'main.js');
    expect(workerBuildIsStale(root, main)).to.equal(true);
    fs.writeFileSync(main, '');
    fs.writeFileSync(path.join(root, 'package.json'), '{}');
    setMtime(path.join(root, 'server', 'db', 'pool.ts'), 100);
    setMtime(path.join(root, 'package.json'), 100);
    setMtime(main, 10);
    expect(workerBuildIsStale(root, main)).to.equal(false);
    setMtime(path.join(root, 'server', 'db', 'pool.ts'), 5);
    expect(workerBuildIsStale(root, main)).to.equal(true);
    setMtime(path.join(root, 'server', 'db', 'pool.ts'), 100);
    setMtime(path.join(root, 'package.json'), 5);
    expect(workerBuildIsStale(root, main)).to.equal(true);
  });
});

describe('ensureWorkerBuildSync()', function () {
  this.timeout(120_000);

  it('builds dist/server/main.js, which runs under plain node (no tsx) and reports a bad setting', () => {
    ensureWorkerBuildSync();
    expect(workerBuildIsStale()).to.equal(false);
    expect(fs.existsSync(`${WORKER_BUILD_MAIN}.map`)).to.equal(true);
    const run = spawnSync(process.execPath, ['--enable-source-maps', WORKER_BUILD_MAIN], {
      env: { PATH: process.env.PATH ?? '', PORT: 'x', DB_PASSWORD: 'p' },
      encoding: 'utf8',
      timeout: 20_000,
    });
    expect(run.status).to.equal(1);
    expect(run.stdout + run.stderr).to.contain('PORT must be a whole number');
    // Nothing from tsx was loaded: the process had no loader and still ran the server's code.
    expect(fs.readFileSync(path.join(PROJECT_ROOT, 'cluster', 'worker', 'pm2-entry.js'), 'utf8')).to.not.contain('tsx');
  });
});

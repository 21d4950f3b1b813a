// app_info{version, commit, port}: the commit comes from APP_COMMIT when the start command sets it, else
// from `git rev-parse HEAD` once at load, else 'unknown'. A real worker of the shared stack shows it.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { PROJECT_ROOT } from '../../cluster/settings';
import { commit, readCommit, version } from '../../server/version';
import { request } from '../support/http';
import { sharedStack } from '../support/stack';

const HEAD = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: PROJECT_ROOT, encoding: 'utf8' }).trim();

describe('readCommit(appCommit, dir)', () => {
  it('returns APP_COMMIT when it is set, trimmed, whatever the folder', () => {
    expect(readCommit(' v1.2.3-4-gabcdef ', os.tmpdir())).to.equal('v1.2.3-4-gabcdef');
  });

  it("returns 'unknown' for an APP_COMMIT that would not be a sane label value", () => {
    expect(readCommit('a b"c', PROJECT_ROOT)).to.equal('unknown');
    expect(readCommit('x'.repeat(65), PROJECT_ROOT)).to.equal('unknown');
  });

  it('asks git for HEAD when APP_COMMIT is unset or empty, from any folder of the checkout', () => {
    expect(readCommit(undefined, path.join(PROJECT_ROOT, 'server'))).to.equal(HEAD);
    expect(readCommit('', PROJECT_ROOT)).to.equal(HEAD);
    expect(HEAD).to.match(/^[0-9a-f]{40}$/);
  });

  it("returns 'unknown' outside a git checkout", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kh-no-git-'));
    try {
      expect(readCommit(undefined, dir)).to.equal('unknown');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('gave the module its commit at load (this checkout, as the tests run without APP_COMMIT)', () => {
    expect(commit).to.equal(process.env.APP_COMMIT?.trim() || HEAD);
  });
});

describe('app_info on a worker started with APP_COMMIT', function () {
  this.timeout(40_000);

  it('carries the version from package.json and the APP_COMMIT given', async () => {
    const stack = await sharedStack();
    const worker = await stack.addWorker({ APP_COMMIT: 'release-2026-12-02' });
    try {
      const { text } = await request(`${worker.url}/metrics`);
      const line = text.split('\n').find((l) => l.startsWith('app_info{'));
      expect(line).to.equal(
        `app_info{version="${version}",commit="release-2026-12-02",port="${worker.port}",worker="test-worker-${worker.port}"} 1`,
      );
    } finally {
      await worker.stop();
    }
  });
});

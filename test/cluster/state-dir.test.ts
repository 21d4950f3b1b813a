import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { loadStackSettings } from '../../cluster/settings';
import { prepareStateDir } from '../../cluster/state-dir';

describe('prepareStateDir(settings)', function () {
  let repo: string;

  beforeEach(function () {
    repo = fs.mkdtempSync(path.join(os.tmpdir(), 'kh-state-repo-'));
    execFileSync('git', ['init', '-q', repo]);
  });

  afterEach(function () {
    fs.rmSync(repo, { recursive: true, force: true });
  });

  const untracked = () =>
    execFileSync('git', ['status', '--porcelain', '--untracked-files=all'], { cwd: repo, encoding: 'utf8' });

  it('keeps a STACK_DIR of any name inside a git work tree out of git status', function () {
    const stateDir = path.join(repo, 'my-state');
    prepareStateDir(loadStackSettings({ STACK_DIR: stateDir }));
    fs.writeFileSync(path.join(stateDir, 'logs', 'kh-worker-8000.log'), 'a line\n');
    expect(untracked()).to.equal('');
  });

  it('leaves a .gitignore already in the folder as it was', function () {
    const stateDir = path.join(repo, 'my-state');
    fs.mkdirSync(stateDir);
    fs.writeFileSync(path.join(stateDir, '.gitignore'), 'logs/\n');
    prepareStateDir(loadStackSettings({ STACK_DIR: stateDir }));
    expect(fs.readFileSync(path.join(stateDir, '.gitignore'), 'utf8')).to.equal('logs/\n');
  });
});

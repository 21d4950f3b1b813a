// The build ahead of time (cluster/build/): when dist/ counts as the build of the current sources, and
// what a command does when it is not (build, refuse, or warn and go on).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import {
  ASSET_DIRS,
  buildState,
  decideBuild,
  describeState,
  inputDigests,
  SOURCE_DIRS,
  writeStamp,
  type BuildState,
} from '../../cluster/build/stamp';
import { PROJECT_ROOT } from '../../cluster/settings';

describe('decideBuild(state, options)', () => {
  const stale: BuildState = { fresh: false, reason: 'stale', files: ['server/main.ts'] };
  const missing: BuildState = { fresh: false, reason: 'missing', files: [] };
  const incomplete: BuildState = { fresh: false, reason: 'incomplete', files: ['dist/server/main.js'] };

  it('runs a fresh build as it is, whether TypeScript is installed or not', () => {
    for (const canBuild of [true, false]) {
      for (const mustBeFresh of [true, false]) {
        expect(decideBuild({ fresh: true }, { canBuild, mustBeFresh })).to.equal('run');
      }
    }
  });

  it('builds a missing, stale or incomplete build when TypeScript is installed', () => {
    for (const state of [stale, missing, incomplete]) {
      expect(decideBuild(state, { canBuild: true, mustBeFresh: true })).to.equal('build');
      expect(decideBuild(state, { canBuild: true, mustBeFresh: false })).to.equal('build');
    }
  });

  it('without TypeScript (a production install): refuses where code would start, warns where it only stops or looks', () => {
    for (const state of [stale, missing, incomplete]) {
      expect(decideBuild(state, { canBuild: false, mustBeFresh: true })).to.equal('refuse');
      expect(decideBuild(state, { canBuild: false, mustBeFresh: false })).to.equal('warn');
    }
  });
});

describe('buildState(root)', () => {
  let root: string;
  const write = (file: string, text: string) => {
    fs.mkdirSync(path.dirname(path.join(root, file)), { recursive: true });
    fs.writeFileSync(path.join(root, file), text);
  };
  /** What a build of the tree would leave in dist/. */
  const fakeBuild = () => {
    write('dist/server/main.js', '');
    write('dist/cluster/cli/start.js', '');
    write('dist/package.json', '{}');
    for (const dir of ASSET_DIRS) fs.mkdirSync(path.join(root, 'dist', dir), { recursive: true });
    writeStamp(root, inputDigests(root));
  };

  beforeEach(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'kh-stamp-'));
    write('server/main.ts', 'export {};\n');
    write('server/types.d.ts', 'export {};\n');
    write('cluster/cli/start.ts', 'export {};\n');
    write('tsconfig.json', '{}');
    write('tsconfig.build.json', '{}');
    write('package.json', '{"version":"1.0.0"}');
    write('test/anything.test.ts', 'export {};\n');
  });
  afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

  it('is missing before the first build, and fresh after it', () => {
    expect(buildState(root)).to.deep.equal({ fresh: false, reason: 'missing', files: [] });
    fakeBuild();
    expect(buildState(root)).to.deep.equal({ fresh: true });
    expect(describeState({ fresh: true })).to.equal('');
  });

  it('compares contents, not times: a touched file is still fresh, an edited one (even within the same second) is stale', () => {
    fakeBuild();
    const future = new Date(Date.now() + 60_000);
    fs.utimesSync(path.join(root, 'server', 'main.ts'), future, future);
    expect(buildState(root).fresh).to.equal(true);
    write('server/main.ts', 'export {}; // edited\n');
    const state = buildState(root);
    expect(state).to.deep.equal({ fresh: false, reason: 'stale', files: ['server/main.ts'] });
    expect(describeState(state)).to.equal(
      'The build in dist/ is older than the sources (changed since: server/main.ts)',
    );
  });

  it('is stale when a source is added or removed, or a tsconfig or package.json changes; files outside the build do not count', () => {
    fakeBuild();
    write('test/anything.test.ts', 'export const x = 1;\n');
    write('README.md', 'changed');
    expect(buildState(root).fresh).to.equal(true);
    write('server/new.ts', 'export {};\n');
    fs.rmSync(path.join(root, 'cluster', 'cli', 'start.ts'));
    write('package.json', '{"version":"1.0.1"}');
    write('tsconfig.build.json', '{"compilerOptions":{}}');
    const state = buildState(root);
    expect(state).to.deep.equal({
      fresh: false,
      reason: 'stale',
      files: ['cluster/cli/start.ts', 'package.json', 'server/new.ts', 'tsconfig.build.json'],
    });
    expect(describeState(state)).to.match(
      /changed since: cluster\/cli\/start\.ts, package\.json, server\/new\.ts and 1 more\)$/,
    );
  });

  it('is incomplete when an output of the build is gone (one .js per .ts, none for a .d.ts)', () => {
    fakeBuild();
    fs.rmSync(path.join(root, 'dist', 'server', 'main.js'));
    expect(buildState(root)).to.deep.equal({ fresh: false, reason: 'incomplete', files: ['dist/server/main.js'] });
  });

  it('a damaged stamp counts as no build', () => {
    fakeBuild();
    fs.writeFileSync(path.join(root, 'dist', '.build-stamp.json'), '{"version":1,');
    expect(buildState(root)).to.deep.include({ fresh: false, reason: 'missing' });
  });
});

describe('what the build covers', () => {
  it('SOURCE_DIRS are the folders tsconfig.build.json includes', () => {
    const text = fs.readFileSync(path.join(PROJECT_ROOT, 'tsconfig.build.json'), 'utf8');
    const config = JSON.parse(text.replace(/^\s*\/\/.*$/gm, '')) as { include: string[] };
    expect([...config.include].sort()).to.deep.equal([...SOURCE_DIRS].sort());
  });

  it("every folder the compiled code finds beside itself (path.join(__dirname, '...')) is linked into dist/ by the build", () => {
    const found: string[] = [];
    const walk = (dir: string) => {
      for (const entry of fs.readdirSync(path.join(PROJECT_ROOT, dir), { withFileTypes: true })) {
        const rel = path.posix.join(dir, entry.name);
        if (entry.isDirectory()) walk(rel);
        else if (entry.name.endsWith('.ts')) {
          const text = fs.readFileSync(path.join(PROJECT_ROOT, rel), 'utf8');
          for (const match of text.matchAll(/path\.join\(__dirname, '([^']+)'\)/g)) {
            found.push(path.posix.join(path.posix.dirname(rel), match[1]!));
          }
        }
      }
    };
    for (const dir of SOURCE_DIRS) walk(dir);
    expect(found.length).to.be.greaterThan(0);
    for (const dir of found) expect(ASSET_DIRS, `${dir} is read next to the code`).to.include(dir);
  });
});

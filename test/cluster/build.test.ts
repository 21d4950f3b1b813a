// The build in dist/ (cluster/build/build.ts) of this checkout: what pm2 runs is the compiled JavaScript,
// which runs on plain node (no tsx, no TypeScript), and finds the project's files from where it lies.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { buildState } from '../../cluster/build/stamp';
import { BUILD_ROOT, ensureBuild } from '../../cluster/build/build';
import { buildApps } from '../../cluster/ecosystem';
import { loadStackSettings, PROJECT_ROOT } from '../../cluster/settings';

const plainNode = (args: string[], env: NodeJS.ProcessEnv = { PATH: process.env.PATH ?? '' }) =>
  spawnSync(process.execPath, args, { cwd: PROJECT_ROOT, env, encoding: 'utf8', timeout: 30_000 });

describe('the build in dist/', function () {
  this.timeout(120_000);

  before(() => {
    ensureBuild({ mustBeFresh: true });
  });

  it('is the build of the current sources', () => {
    expect(BUILD_ROOT).to.equal(PROJECT_ROOT);
    expect(buildState(PROJECT_ROOT)).to.deep.equal({ fresh: true });
  });

  it('every Node app pm2 starts is a plain .js entry that loads dist/ and names no TypeScript loader', () => {
    // The embedded database and the workers; the Galera nodes and their health agent.
    const nodeApps = [{}, { DB_TOPOLOGY: 'galera' }].flatMap((env) =>
      buildApps(loadStackSettings(env), env).filter((app) => app.interpreter !== 'none'),
    );
    expect(new Set(nodeApps.map((app) => path.basename(path.dirname(String(app.script)))))).to.deep.equal(
      new Set(['database', 'worker', 'galera']),
    );
    for (const app of nodeApps) {
      const script = String(app.script);
      expect(script, app.name).to.match(/\.js$/);
      const text = fs.readFileSync(script, 'utf8');
      expect(text, app.name).to.not.match(/tsx|\.ts'/);
      for (const [, required] of text.matchAll(/require\('([^']+)'\)/g)) {
        const file = path.resolve(path.dirname(script), required!);
        expect(file.startsWith(path.join(PROJECT_ROOT, 'dist') + path.sep), `${app.name} loads ${file}`).to.equal(true);
        expect(fs.existsSync(file), file).to.equal(true);
      }
    }
  });

  it('the compiled worker runs under plain node and reports a bad setting', () => {
    const run = plainNode(['--enable-source-maps', 'cluster/worker/pm2-entry.js'], {
      PATH: process.env.PATH ?? '',
      PORT: 'x',
      DB_PASSWORD: 'p',
    });
    expect(run.status).to.equal(1);
    expect(run.stdout + run.stderr).to.contain('PORT must be a whole number');
  });

  it('the compiled stack code finds the project root, sql/, the rule files and the SST scripts from dist/', () => {
    const run = plainNode([
      '-e',
      `const { PROJECT_ROOT } = require('./dist/cluster/settings.js');
       const { SQL_DIR } = require('./dist/server/startup/schema.js');
       const { RULES_DIR, RULE_FILES } = require('./dist/monitoring/rules.js');
       const { SST_SCRIPTS_DIR } = require('./dist/cluster/database/galera/args.js');
       const fs = require('node:fs');
       console.log(JSON.stringify({
         root: PROJECT_ROOT,
         sql: SQL_DIR,
         rules: RULE_FILES.every((f) => fs.existsSync(require('node:path').join(RULES_DIR, f))),
         sst: fs.existsSync(require('node:path').join(SST_SCRIPTS_DIR, 'wsrep_sst_rsync_as_root')),
         tsx: Object.keys(require.cache).some((f) => f.includes('/tsx/')),
       }));`,
    ]);
    expect(run.status, run.stderr).to.equal(0);
    expect(JSON.parse(run.stdout)).to.deep.equal({
      root: PROJECT_ROOT,
      sql: path.join(PROJECT_ROOT, 'sql'),
      rules: true,
      sst: true,
      tsx: false,
    });
  });

  it('ecosystem.config.js loads the compiled code only: no tsx in the process that loaded it', () => {
    const stackDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kh-build-'));
    let run;
    try {
      run = plainNode(
        [
          '-e',
          `const config = require('./ecosystem.config.js');
         console.log(JSON.stringify({
           apps: config.apps.length,
           ts: Object.keys(require.cache).filter((f) => f.endsWith('.ts') || f.includes('/tsx/')),
         }));`,
        ],
        { PATH: process.env.PATH ?? '', STACK_DIR: stackDir },
      );
    } finally {
      fs.rmSync(stackDir, { recursive: true, force: true });
    }
    expect(run.status, run.stderr).to.equal(0);
    const out = JSON.parse(run.stdout.trim().split('\n').pop()!) as { apps: number; ts: string[] };
    expect(out.ts).to.deep.equal([]);
    expect(out.apps).to.be.greaterThan(2);
  });
});

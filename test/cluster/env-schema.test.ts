// The settings' schema (cluster/settings-schema.ts, server/env/worker-settings.ts) against what the two
// parsers read, and the committed .env.example against what the schema generates.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { ENV_EXAMPLE, renderEnvExample } from '../../cluster/env-example';
import { loadStackSettings } from '../../cluster/settings';
import { ALL_SETTINGS } from '../../cluster/settings-schema';
import { readWorkerConfig } from '../../server/config';
import { EnvReader } from '../../server/env/reader';

/** Every variable the parsers ask for, with the default each gives, for these environments. */
function asked(...envs: Record<string, string>[]): Map<string, string> {
  const all = new Map<string, string>();
  for (const env of envs) {
    const stack = new EnvReader(env);
    loadStackSettings(env, stack);
    const worker = new EnvReader(env);
    readWorkerConfig(env, worker);
    for (const [name, fallback] of [...stack.asked, ...worker.asked]) all.set(name, fallback);
  }
  return all;
}

describe('the settings schema', () => {
  let stateDir: string;
  before(() => (stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kh-schema-'))));
  after(() => fs.rmSync(stateDir, { recursive: true, force: true }));

  it('lists every variable the stack and the worker read, with the default they use', () => {
    const defaults = asked({ STACK_DIR: stateDir });
    const read = asked(
      { STACK_DIR: stateDir, DB_TOPOLOGY: 'galera' },
      { MYSQL_HOST: 'db', DB_PASSWORD: 'a', DB_EXPORTER_PASSWORD: 'e', GALERA_SERVERS: 'db:3306' },
    );
    const schema = new Map(ALL_SETTINGS.map((setting) => [setting.name, setting.default]));
    const missing = [...defaults.keys(), ...read.keys()].filter((name) => !schema.has(name));
    // A default the schema gives as '' is worked out (DB_QUERY_TIMEOUT_MS from SLEEP_MAX_SECONDS).
    const differing = [...defaults].filter(([name, fallback]) => schema.get(name) && schema.get(name) !== fallback);
    expect({ missing, differing }).to.deep.equal({ missing: [], differing: [] });
  });

  it('lists only variables something reads', () => {
    const read = asked({ STACK_DIR: stateDir }, { STACK_DIR: stateDir, DB_TOPOLOGY: 'galera' });
    // Passwords are read by readPasswordSetting (NAME or NAME_FILE); STACK_ENV_FILE by cluster/env-file.ts.
    const readElsewhere = (name: string) => /PASSWORD(_FILE)?$/.test(name) || name === 'STACK_ENV_FILE';
    expect(ALL_SETTINGS.map((s) => s.name).filter((name) => !read.has(name) && !readElsewhere(name))).to.deep.equal([]);
    expect(new Set(ALL_SETTINGS.map((s) => s.name)).size).to.equal(ALL_SETTINGS.length);
  });

  it('generates the committed .env.example (npm run env:example rewrites it)', () => {
    expect(fs.readFileSync(ENV_EXAMPLE, 'utf8')).to.equal(renderEnvExample());
  });
});

describe('.env, read by every command', () => {
  it('is loaded at the top of every cluster/cli entry that reads a setting, and by ecosystem.config.js', () => {
    const root = path.join(__dirname, '..', '..');
    const entries = fs
      .readdirSync(path.join(root, 'cluster', 'cli'))
      .filter((file) => file.endsWith('.ts') && file !== 'env-example.ts')
      .map((file) => path.join('cluster', 'cli', file));
    const without = [...entries, 'ecosystem.config.js'].filter(
      (file) => !/loadDotEnv\(\);/.test(fs.readFileSync(path.join(root, file), 'utf8')),
    );
    expect(without).to.deep.equal([]);
  });
});

// Where the stack's passwords come from (cluster/secrets.ts): generated once into <stateDir>/secrets/ for
// the embedded server by the command that prepares the state folder (never by reading the settings),
// overridden by DB_PASSWORD / DB_EXPORTER_PASSWORD or their _FILE forms, and required, never defaulted,
// for an external MYSQL_HOST.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { provisionSecrets, requireProvisionedSecrets } from '../../cluster/secrets';
import { loadStackSettings } from '../../cluster/settings';
import { prepareStateDir } from '../../cluster/state-dir';

describe("the stack's passwords", () => {
  let stateDir: string;
  beforeEach(() => {
    stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kh-passwords-'));
  });
  afterEach(() => fs.rmSync(stateDir, { recursive: true, force: true }));

  const mode = (file: string) => (fs.statSync(file).mode & 0o777).toString(8);

  it('reads the settings without writing a file: no password exists until the state folder is prepared', () => {
    const settings = loadStackSettings({ STACK_DIR: stateDir, DB_TOPOLOGY: 'galera' });
    expect({
      files: fs.readdirSync(stateDir),
      passwords: [settings.database.appPassword, settings.monitoring.exporterPassword, settings.galera.checkPassword],
      appPasswordFile: settings.database.appPasswordFile,
    }).to.deep.equal({
      files: [],
      passwords: ['', '', ''],
      appPasswordFile: path.join(stateDir, 'secrets', 'db-password'),
    });
    expect(() => requireProvisionedSecrets(settings)).to.throw(
      /generated passwords do not exist yet .*`npm start` creates them/,
    );
    const prepared = prepareStateDir(settings).settings;
    expect(prepared.galera.checkPassword).to.match(/^[A-Za-z0-9_-]{32}$/);
    expect(loadStackSettings({ STACK_DIR: stateDir, DB_TOPOLOGY: 'galera' }).galera.checkPassword).to.equal(
      prepared.galera.checkPassword,
    );
  });

  it('generates the app and exporter passwords when provisioned, owner-only, and reads the same ones afterwards', () => {
    const first = provisionSecrets(loadStackSettings({ STACK_DIR: stateDir }));
    const again = loadStackSettings({ STACK_DIR: stateDir });
    const secrets = path.join(stateDir, 'secrets');
    expect({
      app: /^[A-Za-z0-9_-]{32}$/.test(first.database.appPassword),
      exporter: /^[A-Za-z0-9_-]{32}$/.test(first.monitoring.exporterPassword),
      distinct: first.database.appPassword !== first.monitoring.exporterPassword,
      stable: [again.database.appPassword, again.monitoring.exporterPassword],
      file: first.database.appPasswordFile,
      modes: [mode(secrets), mode(path.join(secrets, 'db-password')), mode(path.join(secrets, 'db-exporter-password'))],
      onDisk: fs.readFileSync(path.join(secrets, 'db-password'), 'utf8'),
    }).to.deep.equal({
      app: true,
      exporter: true,
      distinct: true,
      stable: [first.database.appPassword, first.monitoring.exporterPassword],
      file: path.join(secrets, 'db-password'),
      modes: ['700', '600', '600'],
      onDisk: `${first.database.appPassword}\n`,
    });
  });

  it('takes DB_PASSWORD and DB_EXPORTER_PASSWORD_FILE over the generated ones', () => {
    const file = path.join(stateDir, 'exporter.txt');
    fs.writeFileSync(file, 'from-a-file\n');
    const settings = loadStackSettings({ STACK_DIR: stateDir, DB_PASSWORD: 'given', DB_EXPORTER_PASSWORD_FILE: file });
    expect([
      settings.database.appPassword,
      settings.database.appPasswordFile,
      settings.monitoring.exporterPassword,
      fs.existsSync(path.join(stateDir, 'secrets')),
    ]).to.deep.equal(['given', undefined, 'from-a-file', false]);
  });

  it('refuses an external MYSQL_HOST without its passwords, naming both, rather than run on a default', () => {
    expect(() => loadStackSettings({ STACK_DIR: stateDir, MYSQL_HOST: 'db.example' })).to.throw(
      '  - MYSQL_HOST is set, so DB_PASSWORD (or DB_PASSWORD_FILE) must be set: the stack generates passwords only for ' +
        'its embedded MariaDB and never runs an external one on a default.\n' +
        '  - MYSQL_HOST is set, so DB_EXPORTER_PASSWORD (or DB_EXPORTER_PASSWORD_FILE) must be set',
    );
    expect(fs.existsSync(path.join(stateDir, 'secrets'))).to.equal(false);
  });
});

import { expect } from 'chai';
import { stackApps } from '../../cluster/apps';
import { buildApps } from '../../cluster/ecosystem';
import { appsForSubcommand, pm2Subcommand } from '../../cluster/pm2-command';
import { loadStackSettings } from '../../cluster/settings';

describe('pm2Subcommand(argv)', () => {
  it('reads the subcommand of the pm2 CLI, whichever pm2 binary runs', () => {
    expect(
      pm2Subcommand(['/usr/bin/node', '/work/node_modules/pm2/bin/pm2', 'reload', 'ecosystem.config.js']),
    ).to.equal('reload');
    expect(
      pm2Subcommand(['node', '/usr/local/bin/pm2', '--silent', 'start', 'ecosystem.config.js', '--only', 'x']),
    ).to.equal('start');
  });

  it('is undefined outside the pm2 CLI (a test or npm start loading the file)', () => {
    expect(pm2Subcommand(['node', '/work/node_modules/.bin/mocha', 'reload'])).to.equal(undefined);
  });
});

describe('appsForSubcommand(subcommand, apps)', () => {
  const settings = loadStackSettings({ MONITORING: '1' });
  const stack = stackApps(settings);
  const apps = buildApps(settings, {}, stack);

  it('gives a reload only the workers: the database and HAProxy are not stopped and started', () => {
    expect(appsForSubcommand('reload', apps, stack).map((app) => app.name)).to.deep.equal([
      'kh-worker-8000',
      'kh-worker-8001',
    ]);
  });

  it('gives every other subcommand every app', () => {
    expect(appsForSubcommand('start', apps, stack)).to.deep.equal(apps);
    expect(appsForSubcommand(undefined, apps, stack)).to.deep.equal(apps);
  });
});

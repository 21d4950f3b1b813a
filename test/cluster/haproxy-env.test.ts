import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { expect } from 'chai';
import { WAIT_TIMEOUT_SECONDS } from '../../cluster/db/embedded';
import { HAPROXY_CFG, haproxyArgs, haproxyEnv } from '../../cluster/haproxy-env';
import { loadStackSettings } from '../../cluster/settings';
import { systemBinary } from '../../cluster/system-packages';

describe('haproxyEnv(settings)', function () {
  it('gives the listener, stats, server address, maxconn and check user from the defaults', function () {
    expect(haproxyEnv(loadStackSettings({}))).to.deep.equal({
      HAPROXY_BIND: '127.0.0.1:5555',
      HAPROXY_STATS_BIND: '127.0.0.1:8404',
      MYSQL_ADDR: '127.0.0.1:3307',
      HAPROXY_SERVER_MAXCONN: '10',
      HAPROXY_CHECK_USER: 'haproxy_check',
    });
  });

  it('points MYSQL_ADDR at an external MYSQL_HOST on 3306', function () {
    expect(haproxyEnv(loadStackSettings({ MYSQL_HOST: '10.0.0.5' })).MYSQL_ADDR).to.equal('10.0.0.5:3306');
  });

  it('names every variable haproxy.cfg uses, and no other', function () {
    const config = readFileSync(HAPROXY_CFG, 'utf8').replace(/^\s*#.*$/gm, '');
    const used = [...config.matchAll(/"\$\{([A-Z_]+)\}"/g)].map((m) => m[1]);
    expect([...new Set(used)].sort()).to.deep.equal(Object.keys(haproxyEnv(loadStackSettings({}))).sort());
  });

  it('rejects a check user that would break out of its quoted config word', function () {
    expect(() => haproxyEnv(loadStackSettings({ DB_CHECK_USER: 'a" b' }))).to.throw(
      'DB_CHECK_USER "a" b" may only contain letters, digits, _ . @ and -.',
    );
  });
});

describe('haproxyArgs(cfgPath)', function () {
  it('runs haproxy in the foreground with the given config', function () {
    expect(haproxyArgs('/x/haproxy.cfg')).to.deep.equal(['-db', '-f', '/x/haproxy.cfg']);
  });
});

describe('haproxy -c -f haproxy/haproxy.cfg', function () {
  function check(env: Record<string, string>): { status: number | null; output: string } {
    const result = spawnSync(systemBinary('haproxy'), ['-c', '-f', HAPROXY_CFG], { env: { PATH: process.env.PATH ?? '', ...env }, encoding: 'utf8' });
    return { status: result.status, output: `${result.stdout}${result.stderr}` };
  }

  it('accepts the config, without a warning, when given haproxyEnv()', function () {
    expect(check(haproxyEnv(loadStackSettings({})))).to.deep.equal({ status: 0, output: 'Configuration file is valid\n' });
  });

  it('rejects the config when MYSQL_ADDR is missing', function () {
    const env = haproxyEnv(loadStackSettings({}));
    delete env.MYSQL_ADDR;
    expect(check(env).status).to.equal(1);
  });
});

describe('the idle timeouts of haproxy.cfg and mariadbd', function () {
  it('let HAProxy close an idle connection before MariaDB wait_timeout would', function () {
    const seconds = (name: string): number => {
      const match = new RegExp(`^\\s*timeout ${name} (\\d+)s$`, 'm').exec(readFileSync(HAPROXY_CFG, 'utf8'));
      return Number(match?.[1]);
    };
    expect([seconds('client'), seconds('server'), WAIT_TIMEOUT_SECONDS]).to.deep.equal([300, 300, 600]);
  });
});

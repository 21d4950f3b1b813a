import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { fdLimitProblem, haproxyFdNeed, hardFdLimit } from '../../cluster/haproxy/config-files';
import { listenerMaxconn } from '../../cluster/haproxy/env';
import { loadStackSettings } from '../../cluster/settings';

describe('listenerMaxconn(settings)', function () {
  it('gives the front door HAPROXY_HTTP_MAXCONN, the MySQL listener twice HAPROXY_SERVER_MAXCONN, and the global limit their sum', function () {
    expect(listenerMaxconn(loadStackSettings({}))).to.deep.equal({ http: 1500, mysql: 20, stats: 20, global: 1550 });
    expect(
      listenerMaxconn(loadStackSettings({ HAPROXY_HTTP_MAXCONN: '100', HAPROXY_SERVER_MAXCONN: '30' })),
    ).to.deep.equal({ http: 100, mysql: 60, stats: 20, global: 190 });
  });

  it('refuses a front door that takes no connection', function () {
    expect(() => loadStackSettings({ HAPROXY_HTTP_MAXCONN: '0' })).to.throw(
      'HAPROXY_HTTP_MAXCONN must be a whole number of at least 1, got "0".',
    );
  });
});

describe('fdLimitProblem(settings, hardLimit, isRoot)', function () {
  const settings = loadStackSettings({});

  it('needs two open files per connection of the global maxconn and some for listeners and checks', function () {
    // HAProxy 2.6 asks for 3,133 with these files (`Cannot raise FD limit to 3133`, run as a user).
    expect(haproxyFdNeed(settings)).to.equal(3164);
  });

  it('says what to change when the hard limit is too low for a user', function () {
    expect(fdLimitProblem(settings, 1024, false)).to.equal(
      'HAProxy needs about 3164 open files for its maxconn 1550 ' +
        '(HAPROXY_HTTP_MAXCONN 1500 and the other listeners), but this user may open at most 1024 (ulimit -Hn). ' +
        'Lower HAPROXY_HTTP_MAXCONN or raise the hard limit (limits.conf, LimitNOFILE).',
    );
  });

  it('accepts a hard limit that is high enough, and root, which raises its own', function () {
    expect(fdLimitProblem(settings, 4096, false)).to.equal(undefined);
    expect(fdLimitProblem(settings, 1024, true)).to.equal(undefined);
  });
});

describe('hardFdLimit(limits)', function () {
  it('reads the hard open-files limit from a /proc limits file', function () {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kh-limits-'));
    try {
      const file = path.join(dir, 'limits');
      fs.writeFileSync(
        file,
        'Limit                     Soft Limit           Hard Limit           Units     \n' +
          'Max open files            1024                 4096                 files     \n',
      );
      expect(hardFdLimit(file)).to.equal(4096);
      expect(hardFdLimit(path.join(dir, 'missing'))).to.equal(undefined);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

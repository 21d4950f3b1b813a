import { expect } from 'chai';
import { adminClientInvocation, adminConnectionOptions } from '../../cluster/database/admin';
import { loadStackSettings } from '../../cluster/settings';

const embedded = loadStackSettings({ STACK_DIR: '/srv/stack' });
const external = loadStackSettings({
  MYSQL_HOST: 'db.internal',
  MYSQL_PORT: '3310',
  MYSQL_ADMIN_USER: 'admin',
  MYSQL_ADMIN_PASSWORD: 's3cret',
});

describe('adminConnectionOptions(settings)', function () {
  it('reaches the embedded server as passwordless root over its socket', function () {
    expect(adminConnectionOptions(embedded)).to.deep.equal({
      socketPath: '/srv/stack/mariadb/mysqld.sock',
      user: 'root',
      password: '',
    });
  });

  it('reaches an external MYSQL_HOST over TCP with the admin credentials', function () {
    expect(adminConnectionOptions(external)).to.deep.equal({ host: 'db.internal', port: 3310, user: 'admin', password: 's3cret' });
  });
});

describe('adminClientInvocation(settings)', function () {
  it('points the mariadb client at the embedded socket as root, ignoring option files', function () {
    expect(adminClientInvocation(embedded)).to.deep.equal({
      args: ['--no-defaults', '--socket=/srv/stack/mariadb/mysqld.sock', '--user=root'],
      env: {},
    });
  });

  it('passes an external password in MYSQL_PWD, never on the command line', function () {
    expect(adminClientInvocation(external)).to.deep.equal({
      args: ['--no-defaults', '--protocol=TCP', '--host=db.internal', '--port=3310', '--user=admin'],
      env: { MYSQL_PWD: 's3cret' },
    });
  });
});

import os from 'node:os';
import { expect } from 'chai';
import { adminClientInvocation, adminConnectionOptions } from '../../cluster/database/admin';
import { loadStackSettings } from '../../cluster/settings';

// The passwords are given so that no secret is generated under a folder that does not exist.
const passwords = { DB_PASSWORD: 'app-secret', DB_EXPORTER_PASSWORD: 'exporter-secret' };
const embedded = loadStackSettings({ STACK_DIR: '/srv/stack', ...passwords });
const external = loadStackSettings({
  MYSQL_HOST: 'db.internal',
  MYSQL_PORT: '3310',
  MYSQL_ADMIN_USER: 'admin',
  MYSQL_ADMIN_PASSWORD: 's3cret',
  ...passwords,
});
// unix_socket matches the account named like the OS user at the other end of the socket.
const osUser = os.userInfo().username;

describe('adminConnectionOptions(settings)', function () {
  it('reaches the embedded server over its socket as the OS user, with no password (unix_socket)', function () {
    expect(adminConnectionOptions(embedded)).to.deep.equal({
      socketPath: '/srv/stack/mariadb/mysqld.sock',
      user: osUser,
      password: '',
    });
  });

  it('reaches an external MYSQL_HOST over TCP with the admin credentials', function () {
    expect(adminConnectionOptions(external)).to.deep.equal({
      host: 'db.internal',
      port: 3310,
      user: 'admin',
      password: 's3cret',
    });
  });
});

describe('adminClientInvocation(settings)', function () {
  it('points the mariadb client at the embedded socket as the OS user, ignoring option files', function () {
    expect(adminClientInvocation(embedded)).to.deep.equal({
      args: ['--no-defaults', '--socket=/srv/stack/mariadb/mysqld.sock', `--user=${osUser}`],
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

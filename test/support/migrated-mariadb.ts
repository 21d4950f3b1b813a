// A throwaway MariaDB with the stack's migrations applied and an admin connection, for the test files
// that drive DbPool and Db directly (no HAProxy, no worker process). Registers its own before/after
// hooks in the calling describe(); the fields are set once its before() has run.
import mysql from 'mysql2/promise';
import { migrate } from '../../cluster/database/migrate';
import { provisionSecrets } from '../../cluster/secrets';
import { loadStackSettings, type StackSettings } from '../../cluster/settings';
import { startMariaDb, type MariaDbHandle } from './mariadb';

export interface MigratedMariaDb {
  mariadb: MariaDbHandle;
  /** The stack settings pointing at it: the app user and password the pools log in with. */
  settings: StackSettings;
  admin: mysql.Connection;
}

/** `adminDatabase`: the admin connection's default schema (undefined: none). */
export function useMigratedMariaDb(stackName: string, adminDatabase: string | undefined = 'test'): MigratedMariaDb {
  const database = {} as MigratedMariaDb;
  before(async () => {
    database.mariadb = await startMariaDb();
    database.settings = provisionSecrets(
      loadStackSettings({ MYSQL_PORT: String(database.mariadb.port), STACK_NAME: stackName }),
    );
    await migrate(database.settings, database.mariadb.admin);
    database.admin = await mysql.createConnection({ ...database.mariadb.admin, database: adminDatabase });
  });
  after(async () => {
    await database.admin?.end();
    await database.mariadb?.stop();
  });
  return database;
}

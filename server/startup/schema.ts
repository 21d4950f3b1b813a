// The newest numbered migration in sql/, which a worker waits to see recorded in test.schema_migrations
// before it reports ready: the database may answer before its migrations have run (a new migration on
// restart, or an external MYSQL_HOST nobody migrated yet), and a worker serving then would fail requests.
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';

/** The project's sql/, the nearest up the tree: from server/startup/ (sources) or dist/server/startup/ (build). */
function findSqlDir(from: string): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, 'sql'))) return path.join(dir, 'sql');
    if (path.dirname(dir) === dir) throw new Error(`No sql/ folder above ${from}.`);
  }
}

export const SQL_DIR = findSqlDir(__dirname);
const NUMBERED = /^V\d+__[A-Za-z0-9_-]+\.sql$/;

export function latestMigration(dir: string = SQL_DIR): string {
  const numbered = readdirSync(dir)
    .filter((name) => NUMBERED.test(name))
    .sort();
  const latest = numbered[numbered.length - 1];
  if (!latest) throw new Error(`No numbered migration (V001__name.sql) found in ${dir}.`);
  return latest;
}

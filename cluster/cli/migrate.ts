// `npm run db:migrate`: applies sql/ to whatever the settings point at. The embedded server migrates
// itself on every start; this is the way to migrate an external MYSQL_HOST (with MYSQL_ADMIN_USER /
// MYSQL_ADMIN_PASSWORD) or to re-apply the accounts after changing DB_PASSWORD.
import { adminConnectionOptions } from '../database/admin';
import { migrate } from '../database/migrate';
import { loadDotEnv } from '../env-file';
import { loadStackSettings } from '../settings';

// Before anything reads a setting: the project's .env, shell values winning (cluster/env-file.ts).
loadDotEnv();

async function main(): Promise<void> {
  const settings = loadStackSettings();
  const target = settings.database.embedded
    ? 'the embedded MariaDB'
    : `${settings.database.host}:${settings.database.port}`;
  const applied = await migrate(settings, adminConnectionOptions(settings));
  console.log(`Migrated ${target}; applied: ${applied.join(', ') || 'nothing'}.`);
}

main().catch((err: unknown) => {
  console.error(`db:migrate failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});

// `npm run db:shell [-- client args]`: the mariadb client as the administrator of the database the
// settings point at. `npm run db:shell -- -N -B -e "SELECT 1"` runs one statement and exits with the
// client's status.
import { spawn } from 'node:child_process';
import { adminClientInvocation } from '../database/admin';
import { loadDotEnv } from '../env-file';
import { loadStackSettings } from '../settings';
import { systemBinary } from '../system-packages';

// Before anything reads a setting: the project's .env, shell values winning (cluster/env-file.ts).
loadDotEnv();

const settings = loadStackSettings();
const { args, env } = adminClientInvocation(settings);
// A MYSQL_PWD inherited from the caller's shell would be sent to the embedded server's socket-only admin.
const inherited = { ...process.env };
delete inherited.MYSQL_PWD;
const child = spawn(systemBinary('mariadb'), [...args, ...process.argv.slice(2)], {
  stdio: 'inherit',
  env: { ...inherited, ...env },
});
// The client handles Ctrl-C itself (it cancels the running query); this process just waits for it.
process.on('SIGINT', () => undefined);
child.once('error', (err) => {
  console.error(`db:shell could not run the mariadb client: ${err.message}`);
  process.exit(1);
});
child.once('exit', (code, signal) => process.exit(code ?? (signal ? 128 : 1)));

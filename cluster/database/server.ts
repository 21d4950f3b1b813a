// pm2's entry for the embedded MariaDB. mariadbd cannot tell pm2 it is ready (wait_ready needs
// process.send), so this wrapper runs it in the foreground, waits until it answers, applies the
// migrations, and only then sends 'ready'. It turns pm2's SIGINT (which mariadbd ignores) into the
// SIGTERM mariadbd shuts down on, and exits non-zero when mariadbd dies so pm2 restarts the pair.
import { spawn, type ChildProcess } from 'node:child_process';
import { chmod, mkdir } from 'node:fs/promises';
import mysql from 'mysql2/promise';
import { adminConnectionOptions } from './admin';
import { embeddedAdminUser, legacyRootLogin, secureEmbeddedAccounts } from './admin-account';
import {
  embeddedPaths,
  initDatadir,
  MARIADBD_PRIVATE_FILES_ENV,
  mariadbdArgs,
  stopStaleServer,
  waitForMariaDb,
} from './embedded';
import { migrate } from './migrate';
import { makePrivate, PRIVATE_UMASK } from '../private-files';
import { loadStackSettings } from '../settings';
import { systemBinary } from '../system-packages';
import { STOPPED_BEFORE_READY } from '../../server/startup/exit-codes';

// A first start includes mariadb-install-db and InnoDB crash recovery may follow a kill; both fit.
const READY_TIMEOUT_MS = 60_000;

let mariadbd: ChildProcess | undefined;
let stopping = false;
let ready = false;
/** Exit code of a requested stop: see STOPPED_BEFORE_READY. */
const stoppedCode = () => (ready ? 0 : STOPPED_BEFORE_READY);
let failed = false;

function stop(signal: NodeJS.Signals): void {
  stopping = true;
  console.log(`db-server: ${signal} received, stopping mariadbd.`);
  if (mariadbd && mariadbd.exitCode === null && mariadbd.signalCode === null) mariadbd.kill('SIGTERM');
  else process.exit(stoppedCode());
}

async function main(): Promise<void> {
  const settings = loadStackSettings();
  if (!settings.database.embedded) {
    throw new Error(
      `MYSQL_HOST is set (${settings.database.host}), so there is no embedded MariaDB to run; leave the db app out of pm2.`,
    );
  }
  const paths = embeddedPaths(settings.stateDir);
  await mkdir(paths.dir, { recursive: true, mode: 0o700 });
  if (await stopStaleServer(paths)) console.log('db-server: stopped a mariadbd left running on this datadir.');
  if (await initDatadir(paths.datadir)) console.log(`db-server: created the datadir ${paths.datadir}.`);
  // A datadir an earlier version left group- and world-readable is made private before it serves again.
  makePrivate(paths.dir);
  if (stopping) process.exit(stoppedCode());

  const child = spawn(
    systemBinary('mariadbd'),
    mariadbdArgs({
      datadir: paths.datadir,
      port: settings.database.port,
      socket: paths.socket,
      pidFile: paths.pidFile,
    }),
    { stdio: 'inherit', env: { ...process.env, ...MARIADBD_PRIVATE_FILES_ENV } },
  );
  mariadbd = child;
  const died = new AbortController();
  child.once('error', (err) => {
    console.error(`db-server: could not run mariadbd: ${err.message}`);
    process.exit(1);
  });
  child.once('exit', (code, signal) => {
    died.abort(new Error(`mariadbd exited (${signal ?? `code ${code}`}) before it was ready.`));
    if (stopping) process.exit(failed || code !== 0 ? 1 : stoppedCode());
    console.error(`db-server: mariadbd exited unexpectedly (${signal ?? `code ${code}`}); exiting so pm2 restarts it.`);
    process.exit(1);
  });

  const admin = adminConnectionOptions(settings);
  // A datadir from before unix_socket admits only its passwordless root until secured below.
  const logins = admin.user === 'root' ? admin : [admin, legacyRootLogin(paths.socket)];
  const login = await waitForMariaDb(logins, READY_TIMEOUT_MS, died.signal);
  // mariadbd creates its socket 0777; the folder (0700) already keeps other users out, this says so too.
  await chmod(paths.socket, 0o600);
  await secureAccounts(login);
  const applied = await migrate(settings, admin);
  console.log(
    `db-server: mariadbd is ready on 127.0.0.1:${settings.database.port}; applied ${applied.join(', ') || 'nothing'}.`,
  );
  ready = true;
  process.send?.('ready');
}

/** Makes the OS user the socket-only admin and drops every other superuser and passwordless TCP account. */
async function secureAccounts(login: mysql.ConnectionOptions): Promise<void> {
  const connection = await mysql.createConnection({ ...login, namedPlaceholders: true });
  try {
    for (const account of await secureEmbeddedAccounts(connection, embeddedAdminUser())) {
      console.log(`db-server: dropped the account '${account.user}'@'${account.host}' (${account.reason}).`);
    }
  } finally {
    await connection.end();
  }
}

// Everything this process and mariadbd create under the state folder is for the stack's OS user only.
process.umask(PRIVATE_UMASK);
process.on('SIGINT', stop);
process.on('SIGTERM', stop);

main().catch((err: unknown) => {
  console.error(`db-server: ${err instanceof Error ? err.message : String(err)}`);
  // Take mariadbd down with us; its 'exit' handler then ends this process with a failure code.
  stopping = true;
  failed = true;
  if (mariadbd && mariadbd.exitCode === null && mariadbd.signalCode === null) mariadbd.kill('SIGTERM');
  else process.exit(1);
});

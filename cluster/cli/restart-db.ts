// `npm run restart-db`: restarts the embedded MariaDB, the one part a reload never touches. A single
// server cannot restart without an outage: while it is down every worker answers database requests
// with `503 database_unavailable` (HAProxy marks it DOWN within ~3 s and closes the pooled connections),
// and each worker reconnects by itself once it is back. This says so first and measures the outage.
import { runPm2 } from '../pm2';
import { loadStackSettings } from '../settings';
import { stackStatus, workerUrl } from '../stack-status';

async function workersServe(urls: string[]): Promise<boolean> {
  const answers = await Promise.all(urls.map((url) => fetch(`${url}/readyz`, { signal: AbortSignal.timeout(1000) })
    .then(async (response) => (await response.arrayBuffer(), response.status === 200), () => false)));
  return answers.every(Boolean);
}

async function main(): Promise<number> {
  const settings = loadStackSettings();
  if (!settings.embeddedDb) {
    console.error(`MYSQL_HOST is set (${settings.mysqlHost}): the database is not this stack's to restart.`);
    return 1;
  }
  const name = `${settings.appPrefix}-mariadb`;
  if (!(await stackStatus(settings)).some((s) => s.name === name && s.pm2)) {
    console.error('The stack is not running: `npm start` starts it.');
    return 1;
  }
  console.log(`Restarting ${name}: database requests fail with 503 database_unavailable until it is back.`);
  const started = Date.now();
  const result = await runPm2(['restart', name, '--update-env'], process.env, settings.startTimeoutMs);
  if (result.code !== 0) {
    console.error(result.stderr || result.stdout);
    return 1;
  }
  const urls = settings.workerPorts.map((port) => workerUrl(settings, port));
  const deadline = started + settings.startTimeoutMs;
  while (!(await workersServe(urls))) {
    if (Date.now() > deadline) {
      console.error('The workers did not reach the database again in time: `npm run status`.');
      return 1;
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  console.log(`MariaDB is back and every worker is ready again after ${((Date.now() - started) / 1000).toFixed(1)}s.`);
  return 0;
}

main().then((code) => process.exit(code), (error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});

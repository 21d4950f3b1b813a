// `npm stop`: removes this stack's apps from pm2 (other pm2 apps on the machine are left alone).
// Each app gets its graceful stop: workers drain requests, mariadbd flushes on SIGTERM.
import { belongsToStack, stackApps } from '../apps';
import { loadDotEnv } from '../env-file';
import { listProcesses, runPm2 } from '../pm2';
import { loadStackSettings } from '../settings';

// Before anything reads a setting: the project's .env, shell values winning (cluster/env-file.ts).
loadDotEnv();

async function main(): Promise<number> {
  const settings = loadStackSettings();
  const apps = new Map(stackApps(settings).map((app) => [app.name, app]));
  // Also catch apps of this prefix that the current settings no longer list (e.g. WORKER_PORTS changed).
  const running = (await listProcesses())
    .map((p) => p.name)
    .filter((name) => apps.has(name) || belongsToStack(settings, name));
  if (running.length === 0) {
    console.log('The stack is not running.');
    return 0;
  }
  // Workers first, the database last, so nothing loses its database mid-request. Galera nodes last of
  // all, together: each leaves the cluster cleanly (SIGTERM via its runner) and saves its position, and
  // the next `npm start` bootstraps from the most advanced one. (cluster/apps.ts gives each app its
  // order; an app the settings no longer list goes first.)
  const order = (name: string) => apps.get(name)?.stopOrder ?? 0;
  running.sort((a, b) => order(a) - order(b));
  const nodes = running.filter((name) => order(name) === 3);
  const rest = running.filter((name) => order(name) !== 3);
  for (const group of [rest, nodes].filter((names) => names.length > 0)) {
    const result = await runPm2(['delete', ...group], { PM2_CONCURRENT_ACTIONS: String(group.length), ...process.env });
    if (result.code !== 0) {
      console.error(result.stderr || result.stdout);
      return 1;
    }
  }
  console.log(`Stopped: ${running.join(', ')}.`);
  return 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  },
);

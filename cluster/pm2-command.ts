// `pm2 reload ecosystem.config.js` reloads every app the file lists, and for an app in fork mode a
// reload is a stop and a start: MariaDB would go down (a single server cannot restart without an
// outage) and HAProxy would close its listeners. So when pm2 loads the file for a reload, it lists
// only the workers (cluster mode: the new process is ready before the old one leaves) and HAProxy is
// reloaded in place by its master instead. `npm run restart-db` is the explicit way to restart MariaDB.
import type { StackApp } from './apps';
import type { AppDefinition } from './ecosystem';

/** The pm2 subcommand this process runs (`reload` for `pm2 reload ecosystem.config.js`), if any. */
export function pm2Subcommand(argv: string[]): string | undefined {
  const script = argv[1] ?? '';
  if (!/(^|\/)pm2(\.js)?$/.test(script)) return undefined;
  return argv.slice(2).find((arg) => !arg.startsWith('-'));
}

/**
 * The apps pm2 should act on for `subcommand`: all of them, except on a reload only those a rolling
 * reload serves (the workers). `stack`: the stack's apps the definitions were built from.
 */
export function appsForSubcommand(
  subcommand: string | undefined,
  apps: AppDefinition[],
  stack: readonly StackApp[],
): AppDefinition[] {
  if (subcommand !== 'reload') return apps;
  const reloadable = new Set(stack.filter((app) => app.onChange === 'rolling-reload').map((app) => app.name));
  return apps.filter((app) => reloadable.has(app.name));
}

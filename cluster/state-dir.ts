// Creates the git-ignored state folder and what must exist before pm2 starts anything: the log folder,
// the generated passwords (the one place they are created, cluster/secrets.ts), HAProxy's rendered
// settings and server list and, with MONITORING=1, the rendered prometheus.yml and the exporter's my.cnf.
// All of it readable by the OS user running the stack only (private-files.ts).
import fs from 'node:fs';
import path from 'node:path';
import { writeHaproxyConfig } from './haproxy/config-files';
import { writeMonitoringConfig } from './monitoring/apps';
import { makePrivate, PRIVATE_UMASK } from './private-files';
import { provisionSecrets } from './secrets';
import type { StackSettings } from './settings';

/**
 * Creates the folder git-ignored wherever STACK_DIR puts it (the project's .gitignore knows only
 * `.stack/`): a `.gitignore` of `*` inside ignores everything in it, itself included. One already
 * there is left as it is.
 */
function createIgnoredFolder(stateDir: string): void {
  fs.mkdirSync(path.join(stateDir, 'logs'), { recursive: true, mode: 0o700 });
  try {
    fs.writeFileSync(path.join(stateDir, '.gitignore'), '# Written by the stack: nothing here belongs in git.\n*\n', {
      flag: 'wx',
    });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
}

/**
 * Set to 1 in the environment of `pm2 ... ecosystem.config.js` by a command that prepared the folder
 * itself just before (`npm start`, `npm run reload`), so pm2 loading the file does not render every file
 * again. A bare `pm2 start ecosystem.config.js` has no such variable and prepares the folder itself.
 */
export const STATE_DIR_PREPARED_ENV = 'STACK_STATE_PREPARED';

export interface PreparedStateDir {
  /** The settings with the generated passwords' values (created just now when missing). */
  settings: StackSettings;
  /** HAProxy's rendered files changed: a running HAProxy needs a reload. */
  haproxyChanged: boolean;
}

/** Prepares the folder, the generated passwords included. */
export function prepareStateDir(given: StackSettings): PreparedStateDir {
  // Inherited by what this process starts next (pm2's daemon, when it is not running yet, and so by
  // every app), so the logs and data they create are private from the start.
  process.umask(PRIVATE_UMASK);
  createIgnoredFolder(given.stateDir);
  const settings = provisionSecrets(given);
  const haproxyChanged = writeHaproxyConfig(settings);
  if (settings.monitoring.enabled) writeMonitoringConfig(settings);
  // Also tightens a state folder an earlier version left world-readable (folders 0755, files 0644).
  makePrivate(settings.stateDir);
  return { settings, haproxyChanged };
}

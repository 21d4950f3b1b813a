// Creates the git-ignored state folder and what must exist before pm2 starts anything: the log folder,
// HAProxy's rendered settings and server list and, with MONITORING=1, the rendered prometheus.yml and
// the exporter's my.cnf.
import fs from 'node:fs';
import path from 'node:path';
import { writeHaproxyConfig } from './haproxy/config-files';
import { writeMonitoringConfig } from './monitoring/apps';
import type { StackSettings } from './settings';

/**
 * Creates the folder git-ignored wherever STACK_DIR puts it (the project's .gitignore knows only
 * `.stack/`): a `.gitignore` of `*` inside ignores everything in it, itself included. One already
 * there is left as it is.
 */
function createIgnoredFolder(stateDir: string): void {
  fs.mkdirSync(path.join(stateDir, 'logs'), { recursive: true });
  try {
    fs.writeFileSync(path.join(stateDir, '.gitignore'), '# Written by the stack: nothing here belongs in git.\n*\n', { flag: 'wx' });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
}

export function prepareStateDir(settings: StackSettings): void {
  createIgnoredFolder(settings.stateDir);
  writeHaproxyConfig(settings);
  if (settings.monitoring) writeMonitoringConfig(settings);
}

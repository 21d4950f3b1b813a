// Creates the git-ignored state folder and what must exist before pm2 starts anything: the log folder
// and, with MONITORING=1, the rendered prometheus.yml and the exporter's my.cnf.
import fs from 'node:fs';
import path from 'node:path';
import { writeMonitoringConfig } from './monitoring-apps';
import type { StackSettings } from './settings';

export function prepareStateDir(settings: StackSettings): void {
  fs.mkdirSync(path.join(settings.stateDir, 'logs'), { recursive: true });
  if (settings.monitoring) writeMonitoringConfig(settings);
}

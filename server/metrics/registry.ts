// One registry per worker process. Every series carries the constant `worker` label (the pm2 app name),
// so a Prometheus scraping all workers can tell them apart even behind one job.
import { collectDefaultMetrics, Gauge, Registry } from 'prom-client';
import { commit as buildCommit } from '../version';
import { METRIC } from './names';

export function createRegistry(labels: { worker: string; version: string; port: number; commit?: string }): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ worker: labels.worker });
  collectDefaultMetrics({ register: registry });
  new Gauge({
    name: METRIC.appInfo,
    help: "Always 1; labels carry the build version (package.json), its git commit ('unknown' when neither APP_COMMIT nor git says) and the port this worker listens on.",
    labelNames: ['version', 'commit', 'port'],
    registers: [registry],
  }).set({ version: labels.version, commit: labels.commit ?? buildCommit, port: String(labels.port) }, 1);
  return registry;
}

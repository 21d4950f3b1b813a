// One registry per worker process. Every series carries the constant `worker` label (the pm2 app name),
// so a Prometheus scraping all workers can tell them apart even behind one job.
import { collectDefaultMetrics, Gauge, Registry } from 'prom-client';
import { METRIC } from './names';

export function createRegistry(labels: { worker: string; version: string; port: number }): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ worker: labels.worker });
  collectDefaultMetrics({ register: registry });
  new Gauge({
    name: METRIC.appInfo,
    help: 'Always 1; labels carry the build version and the port this worker listens on.',
    labelNames: ['version', 'port'],
    registers: [registry],
  }).set({ version: labels.version, port: String(labels.port) }, 1);
  return registry;
}

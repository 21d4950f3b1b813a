// Rewrites monitoring/prometheus.yml from the renderer after a change to it or to the defaults.
// Always renders the default settings, whatever this shell's WORKER_PORTS says: the committed file
// is the reference copy; the running stack renders its own into the state dir.
import fs from 'node:fs';
import path from 'node:path';
import { loadDotEnv } from '../env-file';
import { COMMITTED_PROMETHEUS_CONFIG, renderCommittedPrometheusConfig } from '../monitoring/prometheus-config';
import { PROJECT_ROOT } from '../settings';

// Before anything reads a setting: the project's .env, shell values winning (cluster/env-file.ts).
loadDotEnv();

fs.writeFileSync(COMMITTED_PROMETHEUS_CONFIG, renderCommittedPrometheusConfig());
console.log(`Wrote ${path.relative(PROJECT_ROOT, COMMITTED_PROMETHEUS_CONFIG)}`);

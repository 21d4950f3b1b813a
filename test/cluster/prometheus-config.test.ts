import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { buildApps } from '../../cluster/ecosystem';
import {
  COMMITTED_PROMETHEUS_CONFIG,
  renderCommittedPrometheusConfig,
  renderPrometheusConfig,
  scrapeTarget,
} from '../../cluster/monitoring/prometheus-config';
import { loadStackSettings, PROJECT_ROOT } from '../../cluster/settings';

const settings = loadStackSettings({
  WORKER_PORTS: '9100,9101,9102',
  STACK_NAME: 't1',
  HAPROXY_STATS_PORT: '9404',
  MYSQLD_EXPORTER_PORT: '9504',
  PROMETHEUS_PORT: '9604',
  STACK_DIR: '/tmp/t1-stack',
  // Given, so no secret is generated in a folder this test never creates.
  DB_PASSWORD: 'app-secret',
  DB_EXPORTER_PASSWORD: 'exporter-secret',
});

// The value lines of one job's block, which ends at the blank line before the next job.
function jobBlock(config: string, job: string): string {
  const start = config.indexOf(`  - job_name: ${job}\n`);
  expect(start, `job ${job}`).to.be.greaterThan(-1);
  return config.slice(start).split('\n\n')[0] as string;
}

describe('monitoring/prometheus.yml', () => {
  it('is exactly what renderPrometheusConfig gives for the default settings (run cluster/cli/render-prometheus-config.ts)', () => {
    expect(fs.readFileSync(COMMITTED_PROMETHEUS_CONFIG, 'utf8')).to.equal(renderCommittedPrometheusConfig());
  });

  it('scrapes the default workers 8000 and 8001 as kh-worker-8000 and kh-worker-8001', () => {
    const workers = jobBlock(fs.readFileSync(COMMITTED_PROMETHEUS_CONFIG, 'utf8'), 'workers');
    expect(workers).to.include('- targets: ["127.0.0.1:8000"]\n        labels:\n          worker: "kh-worker-8000"');
    expect(workers).to.include('- targets: ["127.0.0.1:8001"]\n        labels:\n          worker: "kh-worker-8001"');
  });
});

describe('renderPrometheusConfig(settings)', () => {
  const config = renderPrometheusConfig(settings);

  it('scrapes and evaluates every 5s', () => {
    expect(config).to.match(/^ {2}scrape_interval: 5s$/m);
    expect(config).to.match(/^ {2}evaluation_interval: 5s$/m);
  });

  it('has one worker target per port, labelled with its pm2 app name', () => {
    const workers = jobBlock(config, 'workers');
    expect(workers.match(/- targets:/g)).to.have.length(3);
    for (const port of [9100, 9101, 9102]) {
      expect(workers).to.include(
        `- targets: ["127.0.0.1:${port}"]\n        labels:\n          worker: "t1-worker-${port}"`,
      );
    }
    expect(workers).to.include('honor_labels: true');
  });

  it('labels each worker with the name cluster/ecosystem.ts gives its pm2 app', () => {
    const labels = [...config.matchAll(/worker: "([^"]+)"/g)].map((match) => match[1]);
    const workerApps = buildApps(settings, {}).filter(
      (app) => app.script === path.join(PROJECT_ROOT, 'cluster/worker/pm2-entry.js'),
    );
    expect(labels).to.deep.equal(workerApps.map((app) => app.name));
  });

  it('scrapes HAProxy on its stats port, mysqld-exporter and Prometheus on loopback', () => {
    expect(jobBlock(config, 'haproxy'))
      .to.include('metrics_path: /metrics')
      .and.include('- targets: ["127.0.0.1:9404"]');
    expect(jobBlock(config, 'mysqld')).to.include('- targets: ["127.0.0.1:9504"]');
    expect(jobBlock(config, 'prometheus')).to.include('- targets: ["127.0.0.1:9604"]');
  });

  it('loads the rules by absolute path unless told a rules directory', () => {
    const rules = path.join(PROJECT_ROOT, 'monitoring', 'rules');
    expect(config).to.include(`rule_files:\n  - "${rules}/recording.yml"\n  - "${rules}/alerts.yml"\n`);
    expect(renderPrometheusConfig(settings, { rulesDir: 'rules' })).to.include(
      'rule_files:\n  - "rules/recording.yml"\n  - "rules/alerts.yml"\n',
    );
  });
});

describe('scrapeTarget(host, port)', () => {
  it('scrapes wildcard binds on loopback and brackets IPv6', () => {
    expect(scrapeTarget('127.0.0.1', 80)).to.equal('127.0.0.1:80');
    expect(scrapeTarget('0.0.0.0', 80)).to.equal('127.0.0.1:80');
    expect(scrapeTarget('::', 80)).to.equal('[::1]:80');
    expect(scrapeTarget('::1', 80)).to.equal('[::1]:80');
    expect(scrapeTarget('db.example', 80)).to.equal('db.example:80');
  });
});

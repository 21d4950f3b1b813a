// The committed Prometheus config, rules and dashboard, checked by the promtool that ships with the
// Prometheus the stack runs, so a file that Prometheus would refuse never gets committed.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { renderPrometheusConfig } from '../../cluster/monitoring/prometheus-config';
import { loadStackSettings, PROJECT_ROOT } from '../../cluster/settings';
import { dashboardQueries } from '../../monitoring/dashboard-queries';
import { alertNames, recordingRuleNames, RULE_FILES } from '../../monitoring/rules';

const MONITORING = path.join(PROJECT_ROOT, 'monitoring');

function promtool(...args: string[]): { status: number | null; output: string } {
  const result = spawnSync('promtool', args, { cwd: PROJECT_ROOT, encoding: 'utf8' });
  if (result.error) throw result.error;
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

function withTempDir<T>(body: (dir: string) => T): T {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'promtool-test-'));
  try {
    return body(dir);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const ruleFiles = RULE_FILES.map((file) => path.join('monitoring', 'rules', file));
const testFiles = fs
  .readdirSync(path.join(MONITORING, 'tests'))
  .filter((file) => file.endsWith('.yml'))
  .map((file) => path.join('monitoring', 'tests', file));

describe('promtool check config monitoring/prometheus.yml', () => {
  it('accepts the committed config and the two rule files it loads', () => {
    const { status, output } = promtool('check', 'config', 'monitoring/prometheus.yml');
    expect(status, output).to.equal(0);
    expect(output).to.include('SUCCESS: monitoring/prometheus.yml is valid prometheus config file syntax');
    expect(output).to.include(`SUCCESS: ${RULE_FILES.length} rule files found`);
  });

  it('accepts the runtime rendering, with absolute rule paths, for three workers', () => {
    withTempDir((dir) => {
      const settings = loadStackSettings({ WORKER_PORTS: '9100,9101,9102', STACK_DIR: dir });
      const config = path.join(dir, 'prometheus.yml');
      fs.writeFileSync(config, renderPrometheusConfig(settings));
      const { status, output } = promtool('check', 'config', config);
      expect(status, output).to.equal(0);
      expect(output).to.include(`SUCCESS: ${RULE_FILES.length} rule files found`);
    });
  });
});

describe('promtool check rules monitoring/rules/*.yml', () => {
  it('accepts every rule file and finds each rule rules.ts lists', () => {
    const { status, output } = promtool('check', 'rules', ...ruleFiles);
    expect(status, output).to.equal(0);
    const counts = [...output.matchAll(/SUCCESS: (\d+) rules found/g)].map((match) => Number(match[1]));
    expect(counts).to.deep.equal([recordingRuleNames().length, alertNames().length]);
  });
});

describe('promtool test rules monitoring/tests/*.yml', () => {
  it('passes every rule test file', () => {
    expect(testFiles).to.have.length.greaterThan(0);
    const { status, output } = promtool('test', 'rules', ...testFiles);
    expect(status, output).to.equal(0);
    expect(output.match(/SUCCESS/g)).to.have.length(testFiles.length);
    expect(output).not.to.include('FAILED');
  });
});

describe('dashboardQueries(monitoring/grafana/dashboard.json) under promtool', () => {
  it('parses every panel expression as PromQL', () => {
    const dashboard: unknown = JSON.parse(fs.readFileSync(path.join(MONITORING, 'grafana', 'dashboard.json'), 'utf8'));
    const queries = dashboardQueries(dashboard);
    // Each query becomes a recording rule so promtool parses it; JSON is valid YAML.
    const rules = {
      groups: [
        {
          name: 'dashboard',
          rules: queries.map((query, i) => ({ record: `dashboard:query_${i}:check`, expr: query.expr })),
        },
      ],
    };
    withTempDir((dir) => {
      const file = path.join(dir, 'dashboard-rules.yml');
      fs.writeFileSync(file, JSON.stringify(rules, null, 2));
      const { status, output } = promtool('check', 'rules', file);
      expect(status, output).to.equal(0);
      expect(output).to.include(`SUCCESS: ${queries.length} rules found`);
    });
  });
});

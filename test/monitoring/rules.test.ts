// The rule files' shape: names, labels and annotations every rule must carry, and a promtool test
// case for each rule. promtool itself runs in promtool.test.ts.
import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { alertNames, recordingRuleNames, RULES_DIR } from '../../monitoring/rules';

const TESTS_DIR = path.join(RULES_DIR, '..', 'tests');
const read = (file: string): string => fs.readFileSync(file, 'utf8');

describe('recordingRuleNames()', () => {
  it('lists every recorded series once, named level:metric:operations', () => {
    const names = recordingRuleNames();
    expect(names).to.have.length(12);
    expect(new Set(names).size).to.equal(names.length);
    for (const name of names) expect(name).to.match(/^[a-z_]+:[a-z_]+:[a-z0-9_]+$/);
  });

  it('covers query latency, pool wait and pool utilisation, per worker and for the tier', () => {
    expect(recordingRuleNames()).to.include.members([
      'worker_query:db_query_duration_seconds:p50_rate1m',
      'worker_query:db_query_duration_seconds:p99_rate1m',
      'job_query:db_query_duration_seconds:p50_rate1m',
      'job_query:db_query_duration_seconds:p99_rate1m',
      'worker:db_pool_wait_seconds:p99_rate1m',
      'job:db_pool_wait_seconds:p99_rate1m',
      'worker:db_pool_connections_used_per_max:ratio',
      'job:db_pool_connections_used_per_max:ratio',
    ]);
  });

  it('has a promtool expectation for every recorded series', () => {
    const tests = read(path.join(TESTS_DIR, 'recording.test.yml'));
    for (const name of recordingRuleNames()) expect(tests, name).to.include(`expr: ${name}`);
  });
});

describe('alertNames()', () => {
  it('lists the CamelCase symptom alerts', () => {
    const names = alertNames();
    for (const name of names) expect(name).to.match(/^([A-Z][a-z0-9]*)+$/);
    expect(names).to.include.members([
      'WorkerDown',
      'DbPoolSaturated',
      'DbPoolAcquireRejections',
      'DbQueryLatencyHigh',
      'HaproxyMysqlServerDown',
      'HaproxyMysqlQueue',
      'HaproxyMysqlSessionsNearLimit',
    ]);
  });

  it('gives every alert a severity, a summary and a description', () => {
    const chunks = read(path.join(RULES_DIR, 'alerts.yml'))
      .split(/^\s*- alert: /m)
      .slice(1);
    expect(chunks).to.have.length(alertNames().length);
    for (const chunk of chunks) {
      const name = chunk.split('\n')[0];
      expect(chunk, name).to.match(/^\s+severity: (critical|warning)$/m);
      expect(chunk, name).to.match(/^\s+summary: ".+"$/m);
      expect(chunk, name).to.match(/^\s+description: ".+"$/m);
    }
  });

  it('has a firing and a silent promtool case for every alert', () => {
    const cases = read(path.join(TESTS_DIR, 'alerts.test.yml'))
      .split(/^\s*- alertname: /m)
      .slice(1);
    for (const name of alertNames()) {
      const own = cases.filter((testCase) => testCase.startsWith(`${name}\n`));
      expect(
        own.some((testCase) => /exp_alerts: \[\]/.test(testCase)),
        `${name} silent case`,
      ).to.equal(true);
      expect(
        own.some((testCase) => /exp_alerts:\s*\n\s*- exp_labels:/.test(testCase)),
        `${name} firing case`,
      ).to.equal(true);
    }
  });
});

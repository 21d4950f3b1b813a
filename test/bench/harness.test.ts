// The bench harness's pure pieces (bench/harness/): the order of the repetitions, the summaries and ratios,
// the options, the Markdown and the compact JSON. No server: the scenarios here return fixed samples.
import { expect } from 'chai';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fmtRatio, fmtRefusals, summaryTable, table } from '../../bench/harness/markdown';
import { statusesOf, type Sample } from '../../bench/harness/measure';
import { CHART_FILE, compactJson, compactNumbers, resultsBase, writeResults } from '../../bench/harness/results';
import {
  parseRunOptions,
  ratio,
  refusalsOf,
  rotatedOrder,
  runRepetitions,
  summarize,
  type Measurement,
  type Scenario,
} from '../../bench/harness/run';

function sample(rps: number, extra: Partial<Sample> = {}): Sample {
  return {
    rps,
    requests: rps * 2,
    p50: 1,
    p99: 4,
    errors: 0,
    statuses: { 200: rps * 2 },
    wallSeconds: 2,
    cpuSeconds: { worker: 1, bench: 0.5 },
    peakRssMb: { worker: 80 },
    ...extra,
  };
}

const measurement = (rep: number, scenario: string, rps: number, extra: Partial<Sample> = {}): Measurement => ({
  rep,
  scenario,
  ...sample(rps, extra),
});

describe('bench harness: runRepetitions({ scenarios, reps, order })', () => {
  it('runs every scenario once per repetition in the given order, and afterRep between repetitions', async () => {
    const ran: string[] = [];
    const scenario = (key: string): Scenario => ({
      key,
      label: key,
      run: async () => {
        ran.push(key);
        return sample(10);
      },
    });
    const measurements = await runRepetitions({
      scenarios: ['a', 'b', 'c'].map(scenario),
      reps: 2,
      order: rotatedOrder(1),
      afterRep: async (rep) => {
        ran.push(`after ${rep}`);
      },
      log: () => {},
    });
    expect(ran).to.deep.equal(['a', 'b', 'c', 'after 1', 'a', 'c', 'b', 'after 2']);
    expect(measurements.map((m) => `${m.rep}${m.scenario}`)).to.deep.equal(['1a', '1b', '1c', '2a', '2c', '2b']);
  });

  it('refuses two scenarios with one key', async () => {
    const s: Scenario = { key: 'x', label: 'x', run: async () => sample(1) };
    let error: unknown;
    try {
      await runRepetitions({ scenarios: [s, s], reps: 1, log: () => {} });
    } catch (e) {
      error = e;
    }
    expect((error as Error).message).to.equal('Two scenarios share the key x.');
  });
});

describe('bench harness: rotatedOrder(step)', () => {
  it('starts each repetition `step` later and runs every other one backwards', () => {
    const s = ['a', 'b', 'c', 'd'].map((key) => ({ key, label: key, run: async () => sample(1) }));
    const keys = (rep: number) =>
      rotatedOrder(3)(rep, s)
        .map((x) => x.key)
        .join('');
    expect([1, 2, 3].map(keys)).to.deep.equal(['abcd', 'cbad', 'cdab']);
  });
});

describe('bench harness: summarize(scenarios, measurements)', () => {
  it('gives median and range over the repetitions, sums errors and non-2xx by status, and the highest RSS', () => {
    const ms = [
      measurement(1, 'a', 100, { statuses: { 200: 150, 503: 50 }, peakRssMb: { worker: 90 } }),
      measurement(2, 'a', 300, { errors: 2, statuses: { 200: 600, 404: 1 }, cpuSeconds: { worker: 2, bench: 0.5 } }),
      measurement(3, 'a', 200, { statuses: { 200: 390, 503: 10 } }),
      measurement(1, 'b', 5),
    ];
    const [a, b, ...rest] = summarize(
      [
        { key: 'a', label: 'A' },
        { key: 'b', label: 'B' },
        { key: 'never', label: 'N' },
      ],
      ms,
    );
    expect(rest).to.have.length(0);
    expect(a!.rps).to.deep.equal({ median: 200, min: 100, max: 300 });
    expect(a!.perRep).to.deep.equal([100, 300, 200]);
    expect(a!.errors).to.equal(2);
    expect(a!.refusals).to.deep.equal({ 503: 60, 404: 1 });
    expect(a!.peakRssMb).to.deep.equal({ worker: 90 });
    // CPU % of one core: 1 s of 2 s, 2 s of 2 s, 1 s of 2 s -> median 50%; µs per request: 1e6 / 200, 2e6 / 600, 1e6 / 400.
    expect(a!.cpuPct.worker).to.equal(50);
    expect(a!.cpuUsPerReq.worker).to.be.closeTo(3333.33, 0.01);
    expect(b!.reps).to.equal(1);
  });

  it('refusalsOf() keeps the statuses that are not 2xx and not zero', () => {
    expect(refusalsOf({ 200: 5, 204: 1, 503: 3, 429: 0 })).to.deep.equal({ 503: 3 });
  });
});

describe('bench harness: ratio(measurements, name, numerator, denominator)', () => {
  it('takes each ratio within one repetition, skipping repetitions that miss a side', () => {
    const ms = [
      measurement(1, 'ours', 300),
      measurement(1, 'peer', 100),
      measurement(2, 'ours', 200),
      measurement(2, 'peer', 200),
      measurement(3, 'ours', 1),
    ];
    const r = ratio(ms, 'ours / peer', 'ours', 'peer', { target: 1.5 });
    expect(r.perRep).to.deep.equal([3, 1]);
    expect(r).to.include({ median: 2, min: 1, max: 3, target: 1.5 });
    expect(fmtRatio(r)).to.equal('**2.00x** (1.00–3.00), target ≥ 1.5x met');
    expect(fmtRatio({ ...r, median: 1.2 })).to.match(/missed$/);
    expect(fmtRatio(ratio(ms, 'none', 'ours', 'nobody'))).to.equal('n/a');
  });
});

describe('bench harness: parseRunOptions(argv, defaults, extra)', () => {
  const defaults = { seconds: 5, warmup: 1, reps: 3 };
  it("reads the common options and the bench's own", () => {
    expect(
      parseRunOptions(['--reps', '4', '--no-pages', '--page-path', '/p?after={after}'], defaults, {
        'no-pages': false,
        'page-path': '/todos',
      }),
    ).to.deep.equal({
      seconds: 5,
      warmupSeconds: 1,
      reps: 4,
      quick: false,
      'no-pages': true,
      'page-path': '/p?after={after}',
    });
  });
  it('--quick shortens what is not given explicitly', () => {
    expect(parseRunOptions(['--quick'], defaults, {})).to.deep.equal({
      seconds: 1,
      warmupSeconds: 0.5,
      reps: 1,
      quick: true,
    });
    expect(parseRunOptions(['--quick', '--seconds', '2'], defaults, {})).to.include({ seconds: 2, reps: 1 });
  });
  it('refuses a string option without a value', () => {
    expect(() => parseRunOptions(['--page-path'], defaults, { 'page-path': '/todos' })).to.throw(
      '--page-path needs a value',
    );
  });
});

describe('bench harness: Markdown', () => {
  it('table() escapes pipes and writes a separator row', () => {
    expect(table(['a', 'b'], [['x|y', 2]])).to.deep.equal(['| a | b |', '|---|---|', '| x\\|y | 2 |']);
  });

  it('fmtRefusals() lists the non-2xx answers by status, most first', () => {
    expect(fmtRefusals({})).to.equal('0');
    expect(fmtRefusals({ 404: 1, 503: 20 })).to.equal('503: 20, 404: 1');
  });

  it('summaryTable() writes one row per summary with the chosen CPU and RSS columns', () => {
    const [summary] = summarize(
      [{ key: 'a', label: 'ours GET /' }],
      [measurement(1, 'a', 1000, { statuses: { 200: 1990, 503: 10 } })],
    );
    const lines = summaryTable([summary!], {
      cpu: [
        { name: 'worker', header: 'app CPU' },
        { name: 'haproxy', header: 'HAProxy CPU' },
      ],
      rss: [{ name: 'worker', header: 'RSS MB' }],
    });
    expect(lines[0]).to.equal(
      '| scenario | req/s | p50 ms | p99 ms | errors | non-2xx | app CPU | HAProxy CPU | RSS MB |',
    );
    expect(lines[2]).to.equal(
      '| ours GET / | 1000 (1000–1000) | 1.0 (1.0–1.0) | 4.0 (4.0–4.0) | 0 | 503: 10 | 50% (500) |  | 80 |',
    );
  });
});

describe('bench harness: statusesOf(autocannon result) and compactNumbers', () => {
  it('counts answers by status, or by 2xx / non-2xx when autocannon gives no statusCodeStats', () => {
    const requests = { total: 3 } as never;
    expect(
      statusesOf({ statusCodeStats: { 200: { count: 5 }, 503: { count: 2 } }, non2xx: 2, requests }),
    ).to.deep.equal({ 200: 5, 503: 2 });
    expect(statusesOf({ non2xx: 2, '2xx': 7, requests })).to.deep.equal({ '2xx': 7, 'non-2xx': 2 });
  });

  it('keeps integers and rounds fractions to a few significant digits', () => {
    expect(JSON.parse(JSON.stringify({ a: 12345.6789, b: 0.123456, c: 7, d: 3.14159 }, compactNumbers))).to.deep.equal({
      a: 12345.68,
      b: 0.123,
      c: 7,
      d: 3.14,
    });
  });
});

describe('bench harness: compactJson(value)', () => {
  it('writes each array of numbers on one line, anything else indented', () => {
    expect(compactJson({ a: [1, 2.345678], b: [{ c: 1 }], s: ['x, y'] })).to.equal(
      '{\n "a": [1, 2.35],\n "b": [\n  {\n   "c": 1\n  }\n ],\n "s": [\n  "x, y"\n ]\n}',
    );
    expect(JSON.parse(compactJson({ empty: [], nested: { xs: [0.5, 10] } }))).to.deep.equal({
      empty: [],
      nested: { xs: [0.5, 10] },
    });
  });
});

describe('bench harness: resultsBase(dir, name, date, quick)', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-results-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("takes the day's plain name first, then the next free letter, never an existing run's", () => {
    expect(resultsBase(dir, 'tier', '2026-12-02', false)).to.equal(path.join(dir, 'tier-2026-12-02'));
    fs.writeFileSync(path.join(dir, 'tier-2026-12-02.md'), '');
    expect(resultsBase(dir, 'tier', '2026-12-02', false)).to.equal(path.join(dir, 'tier-2026-12-02b'));
    fs.writeFileSync(path.join(dir, 'tier-2026-12-02b.md'), '');
    expect(resultsBase(dir, 'tier', '2026-12-02', false)).to.equal(path.join(dir, 'tier-2026-12-02c'));
    // Another bench's or another day's files do not count.
    expect(resultsBase(dir, 'bench', '2026-12-02', false)).to.equal(path.join(dir, 'bench-2026-12-02'));
  });

  it('names a quick run <date>-quick whatever is there (it is not a result)', () => {
    fs.writeFileSync(path.join(dir, 'tier-2026-12-02.md'), '');
    expect(resultsBase(dir, 'tier', '2026-12-02', true)).to.equal(path.join(dir, 'tier-2026-12-02-quick'));
  });
});

describe('bench harness: writeResults(name, info, quick, files, dir)', () => {
  it("links the Markdown to the chart under the name it was written as (a day's second run: <date>b.svg)", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-results-'));
    try {
      fs.writeFileSync(path.join(dir, 'tier-2026-12-02.md'), '');
      const info = { date: '2026-12-02' } as Parameters<typeof writeResults>[1];
      const written = writeResults(
        'tier',
        info,
        false,
        { markdown: [`![tier](${CHART_FILE})`], json: {}, svg: '<svg/>' },
        dir,
      );
      expect(written).to.include(path.join(dir, 'tier-2026-12-02b.svg'));
      expect(fs.readFileSync(path.join(dir, 'tier-2026-12-02b.md'), 'utf8')).to.equal(
        '![tier](tier-2026-12-02b.svg)\n',
      );
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

// Scenarios run in repetitions, interleaved: every scenario once per repetition, in an order the bench
// chooses (fixed, rotated, or alternating), so a slow minute on a shared machine lands on all of them
// alike; then a summary per scenario (median and range over the repetitions) and ratios taken within a
// repetition. Pure apart from running the scenarios.
import { parseArgs } from './args';
import type { Sample } from './measure';
import { fmt, median, spread, type Spread } from './stats';

export interface Scenario {
  /** Unique within a run: what ratios and the chart refer to. */
  key: string;
  label: string;
  run(): Promise<Sample>;
}

export interface Measurement extends Sample {
  rep: number;
  scenario: string;
}

/** The order of the scenarios in repetition `rep` (1-based). */
export type Order = (rep: number, scenarios: Scenario[]) => Scenario[];

export const fixedOrder: Order = (_rep, scenarios) => scenarios;

/** Each repetition starts `step` scenarios later than the one before, and every other one runs backwards. */
export function rotatedOrder(step: number): Order {
  return (rep, scenarios) => {
    if (scenarios.length === 0) return [];
    const shift = ((rep - 1) * step) % scenarios.length;
    const order = [...scenarios.slice(shift), ...scenarios.slice(0, shift)];
    return rep % 2 === 0 ? order.reverse() : order;
  };
}

export interface RunOptions {
  seconds: number;
  warmupSeconds: number;
  reps: number;
  /** Short durations and one repetition: a smoke run, written as <name>-<date>-quick.*. */
  quick: boolean;
}

/**
 * The options every bench takes (--seconds, --warmup, --reps, --quick) plus its own `extra` ones.
 * --quick sets 1 s, 0.5 s of warm-up and 1 repetition unless those are given too.
 */
export function parseRunOptions<E extends Record<string, number | boolean | string>>(
  argv: string[],
  defaults: { seconds: number; warmup: number; reps: number },
  extra: E,
): RunOptions & E {
  const args = parseArgs(argv, { ...defaults, quick: false, ...extra } as {
    seconds: number;
    warmup: number;
    reps: number;
    quick: boolean;
  } & E);
  const given = (name: string) => argv.includes(`--${name}`);
  const quick = args.quick;
  const rest: Record<string, unknown> = { ...args };
  for (const name of ['seconds', 'warmup', 'reps', 'quick']) delete rest[name];
  return {
    ...(rest as E),
    seconds: quick && !given('seconds') ? 1 : args.seconds,
    warmupSeconds: quick && !given('warmup') ? 0.5 : args.warmup,
    reps: quick && !given('reps') ? 1 : Math.max(1, Math.round(args.reps)),
    quick,
  };
}

/** Answers by status that are not 2xx (refusals and failures), from a sample's statuses. */
export function refusalsOf(statuses: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(statuses).filter(([status, n]) => !/^2/.test(status) && n > 0));
}

/** One line per measurement while the bench runs. */
export function progressLine(m: Measurement, label: string): string {
  const refused = Object.entries(refusalsOf(m.statuses))
    .map(([s, n]) => `${s}:${n}`)
    .join(' ');
  const cpu = Object.entries(m.cpuSeconds)
    .map(([name, s]) => `${name} ${fmt((100 * s) / m.wallSeconds)}%`)
    .join(' ');
  const rss = Object.entries(m.peakRssMb)
    .map(([name, mb]) => `${name} ${fmt(mb)} MB`)
    .join(' ');
  return (
    `  rep ${m.rep}  ${label.padEnd(44)} ${fmt(m.rps).padStart(7)} /s  p50 ${fmt(m.p50, 2)} ms  p99 ${fmt(m.p99, 2)} ms` +
    `  errors ${m.errors}${refused ? ` refused ${refused}` : ''}  cpu ${cpu}${rss ? `  peak ${rss}` : ''}`
  );
}

/** Runs every scenario once per repetition in `order`; `afterRep` runs between repetitions (e.g. a cleanup). */
export async function runRepetitions(options: {
  scenarios: Scenario[];
  reps: number;
  order?: Order;
  afterRep?: (rep: number) => Promise<void>;
  log?: (line: string) => void;
}): Promise<Measurement[]> {
  const order = options.order ?? fixedOrder;
  const log = options.log ?? ((line: string) => console.log(line));
  const keys = new Set<string>();
  for (const s of options.scenarios) {
    if (keys.has(s.key)) throw new Error(`Two scenarios share the key ${s.key}.`);
    keys.add(s.key);
  }
  const measurements: Measurement[] = [];
  for (let rep = 1; rep <= options.reps; rep++) {
    for (const scenario of order(rep, options.scenarios)) {
      const m: Measurement = { rep, scenario: scenario.key, ...(await scenario.run()) };
      measurements.push(m);
      log(progressLine(m, scenario.label));
    }
    await options.afterRep?.(rep);
  }
  return measurements;
}

export interface Summary {
  key: string;
  label: string;
  reps: number;
  rps: Spread;
  /** req/s of each repetition, in order. */
  perRep: number[];
  p50: Spread;
  p99: Spread;
  /** Summed over the repetitions. */
  requests: number;
  errors: number;
  refusals: Record<string, number>;
  /** Median over the repetitions: % of one core, and CPU microseconds per request. */
  cpuPct: Record<string, number>;
  cpuUsPerReq: Record<string, number>;
  /** The highest over the repetitions. */
  peakRssMb: Record<string, number>;
}

function medianBy(
  ms: Measurement[],
  names: string[],
  value: (m: Measurement, name: string) => number,
): Record<string, number> {
  return Object.fromEntries(
    names.map((name) => [name, median(ms.map((m) => value(m, name)).filter((v) => Number.isFinite(v)))]),
  );
}

/** One summary per scenario that was measured at least once, in the scenarios' order. */
export function summarize(scenarios: Pick<Scenario, 'key' | 'label'>[], measurements: Measurement[]): Summary[] {
  return scenarios.flatMap((scenario) => {
    const ms = measurements.filter((m) => m.scenario === scenario.key).sort((a, b) => a.rep - b.rep);
    if (ms.length === 0) return [];
    const cpuNames = [...new Set(ms.flatMap((m) => Object.keys(m.cpuSeconds)))];
    const rssNames = [...new Set(ms.flatMap((m) => Object.keys(m.peakRssMb)))];
    const refusals: Record<string, number> = {};
    for (const m of ms)
      for (const [status, n] of Object.entries(refusalsOf(m.statuses))) refusals[status] = (refusals[status] ?? 0) + n;
    return [
      {
        key: scenario.key,
        label: scenario.label,
        reps: ms.length,
        rps: spread(ms.map((m) => m.rps)),
        perRep: ms.map((m) => m.rps),
        p50: spread(ms.map((m) => m.p50)),
        p99: spread(ms.map((m) => m.p99)),
        requests: ms.reduce((s, m) => s + m.requests, 0),
        errors: ms.reduce((s, m) => s + m.errors, 0),
        refusals,
        cpuPct: medianBy(ms, cpuNames, (m, name) => (100 * (m.cpuSeconds[name] ?? NaN)) / m.wallSeconds),
        cpuUsPerReq: medianBy(ms, cpuNames, (m, name) => (1e6 * (m.cpuSeconds[name] ?? NaN)) / Math.max(1, m.requests)),
        peakRssMb: Object.fromEntries(
          rssNames.map((name) => [name, Math.max(...ms.map((m) => m.peakRssMb[name] ?? NaN).filter(Number.isFinite))]),
        ),
      },
    ];
  });
}

export interface Ratio extends Spread {
  name: string;
  numerator: string;
  denominator: string;
  /** One ratio per repetition that measured both sides. */
  perRep: number[];
  /** A target the ratio should meet (at least), if any. */
  target?: number;
}

/** numerator / denominator of `field`, each pair from the same repetition. */
export function ratio(
  measurements: Measurement[],
  name: string,
  numerator: string,
  denominator: string,
  options: { field?: 'rps' | 'p50' | 'p99'; target?: number } = {},
): Ratio {
  const field = options.field ?? 'rps';
  const perRep: number[] = [];
  const reps = [...new Set(measurements.map((m) => m.rep))].sort((a, b) => a - b);
  for (const rep of reps) {
    const top = measurements.find((m) => m.rep === rep && m.scenario === numerator);
    const bottom = measurements.find((m) => m.rep === rep && m.scenario === denominator);
    if (top && bottom && bottom[field] > 0) perRep.push(top[field] / bottom[field]);
  }
  return {
    name,
    numerator,
    denominator,
    perRep,
    ...spread(perRep),
    ...(options.target === undefined ? {} : { target: options.target }),
  };
}

// `npm run bench`: the worker measured against the limit it cannot beat, in one run, interleaved.
// A throwaway stack starts the way `npm start` does (bench/throwaway-stack.ts: tsx cluster/cli/start.ts,
// isolated PM2_HOME, temporary STACK_DIR, free ports; two product workers), plus two variant workers
// with one setting changed each (METRICS=0, ACCESS_LOG=0). Every repetition runs every scenario once, in
// this fixed order:
//   (a) the limit: one mysql2 connection running the worker's list_todos statement back to back the way
//       the worker sends it (bench/limit.ts), through HAProxy, straight to MariaDB's TCP port, and over
//       MariaDB's unix socket (HAProxy's own path to the embedded server);
//   (b) GET / on one worker (no database: the HTTP ceiling), 8 connections;
//   (c) GET /todos on one worker at 1, 8 and 64 connections;
//   (d) GET /todos on both workers at once (8 connections each) and through the :HTTP_PORT front door (16);
//   (e) GET / and GET /todos, 8 connections, on the METRICS=0 and the ACCESS_LOG=0 worker;
// and reads, for each, req/s (q/s), p50, p99, errors, the CPU of the worker(s), HAProxy, mariadbd, pm2's
// daemon and the load generator from /proc, and (f) the worker's RSS idle and its peak under load. Each
// worker's start-to-ready time (pm2 start, then a pm2 reload of one worker) comes from pm2's start time
// and the worker's own "ready" log line. Writes bench/results/<date>.json, <date>.md and <date>.svg.
// Usage: npm run bench [-- --seconds 4 --warmup 1 --reps 3 --limit-seconds 3]
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import autocannon from 'autocannon';
import { embeddedPaths } from '../cluster/database/embedded';
import { logPath, workerAppName } from '../cluster/ecosystem';
import { listProcesses, runPm2, type Pm2Process } from '../cluster/pm2';
import { PROJECT_ROOT, type StackSettings } from '../cluster/settings';
import { benchChart } from './bench-chart';
import { freePort } from '../cluster/free-port';
import { LIST_TODOS_SQL, measureLimit, type LimitTarget } from './limit';
import { childPids, totalCpuSeconds } from './proc-cpu';
import { fmt, fmtSpread, median, spread, type Spread } from './stats';
import { expectStatus, processByName, startThrowawayStack, variantApp, withTimeout } from './throwaway-stack';
import { parseArgs } from './args';

const STACK_NAME = 'khbench';

interface Options {
  seconds: number;
  warmupSeconds: number;
  limitSeconds: number;
  reps: number;
}

function parseOptions(argv: string[]): Options {
  const args = parseArgs(argv, { seconds: 4, warmup: 1, 'limit-seconds': 3, reps: 3 });
  const options: Options = { seconds: args.seconds, warmupSeconds: args.warmup, limitSeconds: args['limit-seconds'], reps: Math.round(args.reps) };
  if (options.reps < 3) console.warn('Fewer than 3 repetitions: the ranges mean little.');
  return options;
}

type WorkerKey = 'a' | 'b' | 'nometrics' | 'nolog';

interface Scenario {
  key: string;
  group: 'limit' | 'http ceiling' | 'one worker' | 'tier' | 'switches';
  label: string;
  /** The limit's way to the server, or HTTP load: one autocannon per entry, all at once. */
  limit?: { via: 'haproxy' | 'direct' | 'socket'; target: LimitTarget };
  loads?: { port: number; connections: number }[];
  path: string;
  /** Total connections (1 for the limit). */
  connections: number;
  /** The workers this scenario's requests reach. */
  workers: WorkerKey[];
}

interface Measurement {
  rep: number;
  scenario: string;
  rps: number;
  requests: number;
  p50: number;
  p99: number;
  errors: number;
  non2xx: number;
  wallSeconds: number;
  /** CPU seconds used during the measurement. */
  cpu: { worker: number; haproxy: number; mariadb: number; daemon: number; loadGenerator: number };
  /** Peak RSS of each of the scenario's workers, MB (sampled every 200 ms), by pm2 name. */
  workerPeakRssMb: Record<string, number>;
}

interface Summary {
  scenario: string;
  group: string;
  label: string;
  path: string;
  connections: number;
  rps: Spread;
  p50: Spread;
  p99: Spread;
  errors: number;
  non2xx: number;
  /** Percent of one core, median over the repetitions. */
  cpuPct: Measurement['cpu'];
  /** CPU microseconds per request, median over the repetitions. */
  cpuUsPerReq: Measurement['cpu'];
  /** The highest of the repetitions, by worker. */
  workerPeakRssMb: Record<string, number>;
}

interface Ratio {
  name: string;
  numerator: string;
  denominator: string;
  perRep: number[];
  median: number;
  min: number;
  max: number;
  note?: string;
}

function rssMb(pid: number): number {
  try {
    const match = /^VmRSS:\s+(\d+) kB$/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) / 1024 : NaN;
  } catch {
    return NaN;
  }
}

/** Samples the RSS of each of `pids` every 200 ms until stopped; returns each one's peak. */
function rssSampler(pids: number[]): () => number[] {
  const peaks = pids.map(rssMb);
  const sample = () => pids.forEach((pid, i) => (peaks[i] = Math.max(peaks[i]!, rssMb(pid))));
  const timer = setInterval(sample, 200);
  return () => {
    clearInterval(timer);
    sample();
    return peaks;
  };
}

/** The time of the worker's last {"msg":"ready"} log line at or after `since` (ms since the epoch). */
function readyLogTime(settings: StackSettings, name: string, since: number): number | undefined {
  let found: number | undefined;
  let text: string;
  try {
    text = fs.readFileSync(logPath(settings, name), 'utf8');
  } catch {
    return undefined;
  }
  for (const line of text.split('\n')) {
    if (!line.includes('"ready"')) continue;
    try {
      const entry = JSON.parse(line) as { msg?: string; time?: string };
      const t = entry.time ? Date.parse(entry.time) : NaN;
      if (entry.msg === 'ready' && t >= since) found = t;
    } catch {
      // not a JSON line
    }
  }
  return found;
}

/** pm2's start time of the process (pm_uptime), from the uptime jlist gives. */
const startedAt = (p: Pm2Process, listedAt: number) => listedAt - p.uptimeMs;

async function main(): Promise<void> {
  const benchStarted = Date.now();
  const options = parseOptions(process.argv.slice(2));
  const loadBefore = os.loadavg();
  const stack = await startThrowawayStack({
    stackName: STACK_NAME,
    workers: 2,
    extraEnv: {
      // 4 workers x 1 connection, their KILL QUERY side connections, the limit's connection, plus room.
      HAPROXY_SERVER_MAXCONN: '20',
      // 64 connections on one worker with one database connection queue 63 requests: raise the limits
      // so the bench measures throughput, not the 503s that protect users.
      DB_QUEUE_LIMIT: '1000',
      DB_ACQUIRE_TIMEOUT_MS: '60000',
    },
  });
  const { env, settings } = stack;
  const [portA, portB] = stack.workerPorts as [number, number];
  try {
    const [portNoMetrics, portNoLog] = [await freePort(), await freePort()];
    const variantNames = { nometrics: `${STACK_NAME}-nometrics-${portNoMetrics}`, nolog: `${STACK_NAME}-nolog-${portNoLog}` };
    const variantsAt = Date.now();
    await stack.addVariants([
      variantApp(env, portNoMetrics, variantNames.nometrics, { env: { METRICS: '0' } }),
      variantApp(env, portNoLog, variantNames.nolog, { env: { ACCESS_LOG: '0' } }),
    ], [portNoMetrics, portNoLog]);
    const variantsSeconds = (Date.now() - variantsAt) / 1000;

    const listedAt = Date.now();
    const processes = await listProcesses(env);
    const names: Record<WorkerKey, string> = {
      a: workerAppName(settings, portA), b: workerAppName(settings, portB), ...variantNames,
    };
    const ports: Record<WorkerKey, number> = { a: portA, b: portB, nometrics: portNoMetrics, nolog: portNoLog };
    const pids = Object.fromEntries((Object.keys(names) as WorkerKey[]).map((k) => [k, processByName(processes, names[k]).pid])) as Record<WorkerKey, number>;
    const haproxyMaster = processByName(processes, `${STACK_NAME}-haproxy`).pid;
    const haproxyPids = [haproxyMaster, ...childPids(haproxyMaster)];
    const mariadbWrapper = processByName(processes, `${STACK_NAME}-mariadb`).pid;
    const mariadbPids = [mariadbWrapper, ...childPids(mariadbWrapper)];

    // Start to ready: pm2's start of the process to the worker's own "ready" line (listening, pool
    // connected, newest migration seen).
    const startToReady: { worker: string; how: string; seconds: number }[] = [];
    for (const key of Object.keys(names) as WorkerKey[]) {
      const p = processByName(processes, names[key]);
      const ready = readyLogTime(settings, names[key], 0);
      if (ready !== undefined) {
        startToReady.push({ worker: names[key], how: key === 'a' || key === 'b' ? 'npm start' : 'pm2 start (variant)', seconds: (ready - startedAt(p, listedAt)) / 1000 });
      }
    }

    // Sanity: every target answers, and the switch is what it says.
    for (const key of Object.keys(ports) as WorkerKey[]) {
      for (const p of ['/', '/todos']) await expectStatus(`http://127.0.0.1:${ports[key]}${p}`);
    }
    await expectStatus(`http://127.0.0.1:${settings.httpPort}/todos`);
    await expectStatus(`http://127.0.0.1:${portA}/metrics`, 200);
    await expectStatus(`http://127.0.0.1:${portNoMetrics}/metrics`, 404);
    const idleRssMb = Object.fromEntries((Object.keys(pids) as WorkerKey[]).map((k) => [names[k], rssMb(pids[k])]));

    const account = { user: settings.appUser, password: settings.appPassword, database: 'test' };
    const one = (port: number, connections: number) => [{ port, connections }];
    const scenarios: Scenario[] = [
      { key: 'limit-haproxy', group: 'limit', label: 'limit: 1 connection via HAProxy', limit: { via: 'haproxy', target: { host: '127.0.0.1', port: settings.haproxyPort } }, path: 'list_todos', connections: 1, workers: [] },
      { key: 'limit-direct', group: 'limit', label: 'limit: 1 connection direct (TCP)', limit: { via: 'direct', target: { host: '127.0.0.1', port: settings.mysqlPort } }, path: 'list_todos', connections: 1, workers: [] },
      { key: 'limit-socket', group: 'limit', label: 'limit: 1 connection direct (unix socket)', limit: { via: 'socket', target: { socketPath: embeddedPaths(settings.stateDir).socket } }, path: 'list_todos', connections: 1, workers: [] },
      { key: 'root-8', group: 'http ceiling', label: 'one worker', loads: one(portA, 8), path: '/', connections: 8, workers: ['a'] },
      { key: 'todos-1', group: 'one worker', label: 'one worker', loads: one(portA, 1), path: '/todos', connections: 1, workers: ['a'] },
      { key: 'todos-8', group: 'one worker', label: 'one worker', loads: one(portA, 8), path: '/todos', connections: 8, workers: ['a'] },
      { key: 'todos-64', group: 'one worker', label: 'one worker', loads: one(portA, 64), path: '/todos', connections: 64, workers: ['a'] },
      { key: 'todos-both', group: 'tier', label: 'both workers directly (8 each)', loads: [{ port: portA, connections: 8 }, { port: portB, connections: 8 }], path: '/todos', connections: 16, workers: ['a', 'b'] },
      { key: 'todos-front-door', group: 'tier', label: 'front door (HTTP_PORT, 2 workers)', loads: one(settings.httpPort, 16), path: '/todos', connections: 16, workers: ['a', 'b'] },
      { key: 'root-8-nometrics', group: 'switches', label: 'METRICS=0 worker', loads: one(portNoMetrics, 8), path: '/', connections: 8, workers: ['nometrics'] },
      { key: 'todos-8-nometrics', group: 'switches', label: 'METRICS=0 worker', loads: one(portNoMetrics, 8), path: '/todos', connections: 8, workers: ['nometrics'] },
      { key: 'root-8-nolog', group: 'switches', label: 'ACCESS_LOG=0 worker', loads: one(portNoLog, 8), path: '/', connections: 8, workers: ['nolog'] },
      { key: 'todos-8-nolog', group: 'switches', label: 'ACCESS_LOG=0 worker', loads: one(portNoLog, 8), path: '/todos', connections: 8, workers: ['nolog'] },
    ];
    const perRep = scenarios.reduce((s, sc) => s + (sc.limit ? options.limitSeconds + 0.5 : options.seconds + options.warmupSeconds), 0);
    console.log(`${scenarios.length} scenarios x ${options.reps} repetitions: about ${((perRep * options.reps) / 60).toFixed(1)} min of load.`);

    const measurements: Measurement[] = [];
    let limitRows = 0;
    for (let rep = 1; rep <= options.reps; rep++) {
      for (const scenario of scenarios) {
        const workerPids = scenario.workers.map((k) => pids[k]);
        let m: Measurement;
        if (scenario.limit) {
          const before = { haproxy: totalCpuSeconds(haproxyPids), mariadb: totalCpuSeconds(mariadbPids), daemon: totalCpuSeconds([stack.godPid]) };
          const result = await measureLimit({ ...account, target: scenario.limit.target, seconds: options.limitSeconds, warmupSeconds: 0.5 });
          if (result.rows < 1) throw new Error(`${scenario.label}: list_todos returned no rows`);
          limitRows = result.rows;
          m = {
            rep, scenario: scenario.key, rps: result.qps, requests: result.queries, p50: result.p50Ms, p99: result.p99Ms,
            errors: result.errors, non2xx: 0, wallSeconds: result.wallSeconds,
            cpu: {
              worker: 0, haproxy: totalCpuSeconds(haproxyPids) - before.haproxy, mariadb: totalCpuSeconds(mariadbPids) - before.mariadb,
              daemon: totalCpuSeconds([stack.godPid]) - before.daemon, loadGenerator: result.clientCpuSeconds,
            },
            workerPeakRssMb: {},
          };
        } else {
          const loads = scenario.loads!;
          const urlOf = (port: number) => `http://127.0.0.1:${port}${scenario.path}`;
          await Promise.all(loads.map((l) => autocannon({ url: urlOf(l.port), connections: l.connections, duration: options.warmupSeconds })));
          const before = {
            worker: totalCpuSeconds(workerPids), haproxy: totalCpuSeconds(haproxyPids), mariadb: totalCpuSeconds(mariadbPids),
            daemon: totalCpuSeconds([stack.godPid]), loadGenerator: process.cpuUsage(),
          };
          const stopRss = rssSampler(workerPids);
          const t0 = performance.now();
          const results = await Promise.all(loads.map((l) => autocannon({ url: urlOf(l.port), connections: l.connections, duration: options.seconds })));
          const wallSeconds = (performance.now() - t0) / 1000;
          const peaks = stopRss();
          const workerPeakRssMb = Object.fromEntries(scenario.workers.map((k, i) => [names[k], peaks[i]!]));
          const lg = process.cpuUsage(before.loadGenerator);
          m = {
            rep, scenario: scenario.key,
            rps: results.reduce((s, r) => s + r.requests.average, 0),
            requests: results.reduce((s, r) => s + r.requests.total, 0),
            // Two load generators at once (both workers): the slower side's latency.
            p50: Math.max(...results.map((r) => r.latency.p50)),
            p99: Math.max(...results.map((r) => r.latency.p99)),
            errors: results.reduce((s, r) => s + r.errors + r.timeouts, 0),
            non2xx: results.reduce((s, r) => s + r.non2xx, 0),
            wallSeconds,
            cpu: {
              worker: totalCpuSeconds(workerPids) - before.worker, haproxy: totalCpuSeconds(haproxyPids) - before.haproxy,
              mariadb: totalCpuSeconds(mariadbPids) - before.mariadb, daemon: totalCpuSeconds([stack.godPid]) - before.daemon,
              loadGenerator: (lg.user + lg.system) / 1e6,
            },
            workerPeakRssMb,
          };
        }
        measurements.push(m);
        console.log(`  rep ${rep}  ${scenario.key.padEnd(18)} ${fmt(m.rps).padStart(6)} /s  p50 ${fmt(m.p50, 2)} ms  p99 ${fmt(m.p99, 2)} ms`
          + `  errors ${m.errors} non-2xx ${m.non2xx}  cpu worker ${fmt((100 * m.cpu.worker) / m.wallSeconds)}%`
          + ` haproxy ${fmt((100 * m.cpu.haproxy) / m.wallSeconds)}% mariadb ${fmt((100 * m.cpu.mariadb) / m.wallSeconds)}%`
          + ` load generator ${fmt((100 * m.cpu.loadGenerator) / m.wallSeconds)}%`);
      }
    }

    // Idle again after the load: what the worker keeps.
    await new Promise((resolve) => setTimeout(resolve, 2000));
    const afterRssMb = Object.fromEntries((Object.keys(pids) as WorkerKey[]).map((k) => [names[k], rssMb(pids[k])]));
    const afterLoad = await listProcesses(env);
    const restarted = afterLoad.filter((p) => {
      const was = processes.find((q) => q.name === p.name);
      return !was || was.pid !== p.pid || was.restarts !== p.restarts;
    });
    if (restarted.length > 0) console.warn(`WARNING: restarted during the run: ${restarted.map((p) => p.name).join(', ')}`);

    // A reload of one product worker, as `npm run reload` does it (pm2 reload: the new process starts,
    // says ready, then the old one drains).
    const reloadAt = Date.now();
    const reloaded = await withTimeout(runPm2(['reload', names.a], env), 120_000, 'pm2 reload');
    const reloadCommandSeconds = (Date.now() - reloadAt) / 1000;
    if (reloaded.code === 0) {
      const reloadListedAt = Date.now();
      const p = processByName(await listProcesses(env), names.a);
      const ready = readyLogTime(settings, names.a, reloadAt);
      if (ready !== undefined) startToReady.push({ worker: names.a, how: 'pm2 reload', seconds: (ready - startedAt(p, reloadListedAt)) / 1000 });
    } else {
      console.warn(`pm2 reload ${names.a} exited ${reloaded.code}: ${reloaded.stderr || reloaded.stdout}`);
    }

    // ---- Summaries and ratios.
    const byScenario = (key: string) => measurements.filter((m) => m.scenario === key);
    const summaries: Summary[] = scenarios.map((sc) => {
      const ms = byScenario(sc.key);
      const cpuOf = (f: (c: Measurement['cpu'], m: Measurement) => Measurement['cpu']) => {
        const parts = ms.map((m) => f(m.cpu, m));
        return {
          worker: median(parts.map((p) => p.worker)), haproxy: median(parts.map((p) => p.haproxy)), mariadb: median(parts.map((p) => p.mariadb)),
          daemon: median(parts.map((p) => p.daemon)), loadGenerator: median(parts.map((p) => p.loadGenerator)),
        };
      };
      const scale = (c: Measurement['cpu'], k: number) => ({
        worker: c.worker * k, haproxy: c.haproxy * k, mariadb: c.mariadb * k, daemon: c.daemon * k, loadGenerator: c.loadGenerator * k,
      });
      return {
        scenario: sc.key, group: sc.group, label: sc.label, path: sc.path, connections: sc.connections,
        rps: spread(ms.map((m) => m.rps)), p50: spread(ms.map((m) => m.p50)), p99: spread(ms.map((m) => m.p99)),
        errors: ms.reduce((s, m) => s + m.errors, 0), non2xx: ms.reduce((s, m) => s + m.non2xx, 0),
        cpuPct: cpuOf((c, m) => scale(c, 100 / m.wallSeconds)),
        cpuUsPerReq: cpuOf((c, m) => scale(c, 1e6 / Math.max(1, m.requests))),
        workerPeakRssMb: Object.fromEntries(sc.workers.map((k) => [names[k], Math.max(...ms.map((m) => m.workerPeakRssMb[names[k]] ?? NaN))])),
      };
    });
    const summary = (key: string) => summaries.find((s) => s.scenario === key)!;
    const ratio = (name: string, numerator: string, denominator: string, note?: string): Ratio => {
      const values: number[] = [];
      for (let rep = 1; rep <= options.reps; rep++) {
        const top = measurements.find((m) => m.rep === rep && m.scenario === numerator);
        const bottom = measurements.find((m) => m.rep === rep && m.scenario === denominator);
        if (top && bottom && bottom.rps > 0) values.push(top.rps / bottom.rps);
      }
      return { name, numerator, denominator, perRep: values, ...spread(values), note };
    };
    const cpuNote = (a: string, b: string) => `worker CPU ${fmt(summary(a).cpuUsPerReq.worker)} vs ${fmt(summary(b).cpuUsPerReq.worker)} µs/req`;
    const ratios: Ratio[] = [
      ratio('worker / limit, GET /todos at 1 connection', 'todos-1', 'limit-haproxy'),
      ratio('worker / limit, GET /todos at 8 connections', 'todos-8', 'limit-haproxy'),
      ratio('worker / limit, GET /todos at 64 connections', 'todos-64', 'limit-haproxy'),
      ratio('worker / HTTP ceiling, GET /todos / GET /, 8 connections', 'todos-8', 'root-8', cpuNote('todos-8', 'root-8')),
      ratio('metrics off / on, GET /', 'root-8-nometrics', 'root-8', cpuNote('root-8-nometrics', 'root-8')),
      ratio('metrics off / on, GET /todos', 'todos-8-nometrics', 'todos-8', cpuNote('todos-8-nometrics', 'todos-8')),
      ratio('access log off / on, GET /', 'root-8-nolog', 'root-8', cpuNote('root-8-nolog', 'root-8')),
      ratio('access log off / on, GET /todos', 'todos-8-nolog', 'todos-8', cpuNote('todos-8-nolog', 'todos-8')),
      ratio('proxied / direct, the limit (HAProxy / TCP to MariaDB)', 'limit-haproxy', 'limit-direct'),
      ratio('proxied / direct, the limit (HAProxy / unix socket)', 'limit-haproxy', 'limit-socket'),
      ratio('two workers / one worker, GET /todos (8 connections each)', 'todos-both', 'todos-8'),
      ratio('front door / two workers directly, GET /todos, 16 connections', 'todos-front-door', 'todos-both'),
    ];

    // ---- Output: JSON, Markdown, SVG.
    const date = new Date().toISOString().slice(0, 10);
    const loadAfter = os.loadavg();
    const machine = { cores: os.cpus().length, cpu: os.cpus()[0]?.model, node: process.version, platform: `${os.type()} ${os.release()}` };
    const benchSeconds = (Date.now() - benchStarted) / 1000;
    const rss = Object.values(names).map((name) => ({
      worker: name, idleMb: idleRssMb[name]!, afterLoadMb: afterRssMb[name]!,
      peakUnderLoadMb: Math.max(...summaries.map((s) => s.workerPeakRssMb[name] ?? NaN).filter((v) => Number.isFinite(v))),
    }));
    const chart = benchChart((key) => summary(key), date, machine, options, loadBefore);

    const md: string[] = [];
    md.push(`# npm run bench, ${date}`, '');
    md.push(`${machine.cores} cores (${machine.cpu}), ${machine.platform}, Node ${machine.node}. Load average before ${loadBefore.map((l) => l.toFixed(2)).join(' ')}, `
      + `after ${loadAfter.map((l) => l.toFixed(2)).join(' ')}. ${options.reps} repetitions, interleaved (every scenario once per repetition, fixed order); `
      + `HTTP: ${options.warmupSeconds} s warm-up + ${options.seconds} s, autocannon on loopback with keep-alive, run from the bench process; `
      + `the limit: 0.5 s warm-up + ${options.limitSeconds} s. Stack start (tsx cluster/cli/start.ts) ${stack.startSeconds.toFixed(1)} s, `
      + `variant workers ${variantsSeconds.toFixed(1)} s, whole bench ${benchSeconds.toFixed(0)} s. DB_QUEUE_LIMIT=1000, DB_ACQUIRE_TIMEOUT_MS=60000.`, '');
    md.push(`The limit: \`${LIST_TODOS_SQL}\` (the worker's \`list_todos\` for GET /todos, ${limitRows} rows) as a server-side prepared statement `
      + '(prepare, answered from mysql2\'s statement cache, then execute: as server/db/db.ts sends it), back to back on one mysql2 connection as the app user.', '');
    md.push('![throughput and p99 against concurrency](' + `${date}.svg)`, '');
    md.push('req/s (q/s for the limit), p50 and p99: median (min–max) over the repetitions. CPU: median % of one core (µs per request). '
      + '"load gen." is the bench process itself (autocannon, or the limit\'s mysql2 client).', '');
    md.push('| scenario | path | conns | req/s | p50 ms | p99 ms | errors / non-2xx | worker CPU | HAProxy CPU | mariadbd CPU | pm2 daemon CPU | load gen. CPU | worker peak RSS MB |');
    md.push('|---|---|---|---|---|---|---|---|---|---|---|---|---|');
    for (const s of summaries) {
      const digits = s.group === 'limit' ? 2 : 0;
      const c = (k: keyof Measurement['cpu']) => `${fmt(s.cpuPct[k])}% (${fmt(s.cpuUsPerReq[k])})`;
      md.push(`| ${s.label} | ${s.path === 'list_todos' ? '`list_todos`' : `GET ${s.path}`} | ${s.connections} | ${fmtSpread(s.rps)} | ${fmtSpread(s.p50, digits)} | ${fmtSpread(s.p99, digits)} `
        + `| ${s.errors} / ${s.non2xx} | ${s.group === 'limit' ? '' : c('worker')} | ${c('haproxy')} | ${c('mariadb')} | ${c('daemon')} | ${c('loadGenerator')} `
        + `| ${Object.values(s.workerPeakRssMb).map((v) => fmt(v)).join(' + ')} |`);
    }
    md.push('', 'Ratios of req/s, each pair measured in the same repetition: median (min–max).', '');
    md.push('| ratio | median | range | note |', '|---|---|---|---|');
    for (const r of ratios) md.push(`| ${r.name} | **${r.median.toFixed(2)}x** | ${r.min.toFixed(2)}–${r.max.toFixed(2)} | ${r.note ?? ''} |`);
    md.push('', 'Worker memory (RSS, /proc/<pid>/status):', '');
    md.push('| worker | idle after start MB | peak under load MB | idle after the run MB |', '|---|---|---|---|');
    for (const r of rss) md.push(`| ${r.worker} | ${fmt(r.idleMb)} | ${fmt(r.peakUnderLoadMb)} | ${fmt(r.afterLoadMb)} |`);
    md.push('', 'Start to ready (pm2\'s start of the process to the worker\'s "ready" log line):', '');
    md.push('| worker | how | seconds |', '|---|---|---|');
    for (const r of startToReady) md.push(`| ${r.worker} | ${r.how} | ${r.seconds.toFixed(2)} |`);
    md.push('', `\`pm2 reload\` of one worker took ${reloadCommandSeconds.toFixed(1)} s as a command.`);
    if (restarted.length > 0) md.push('', `**Restarted during the run:** ${restarted.map((p) => p.name).join(', ')}.`);

    const resultsDir = path.join(PROJECT_ROOT, 'bench', 'results');
    fs.mkdirSync(resultsDir, { recursive: true });
    const base = path.join(resultsDir, date);
    fs.writeFileSync(`${base}.json`, `${JSON.stringify({
      bench: 'bench', date: new Date().toISOString(), machine, loadAverage: { before: loadBefore, after: loadAfter },
      options, sql: LIST_TODOS_SQL,
      env: { HAPROXY_SERVER_MAXCONN: env.HAPROXY_SERVER_MAXCONN, DB_QUEUE_LIMIT: env.DB_QUEUE_LIMIT, DB_ACQUIRE_TIMEOUT_MS: env.DB_ACQUIRE_TIMEOUT_MS },
      timings: { stackStartSeconds: stack.startSeconds, variantsStartSeconds: variantsSeconds, benchSeconds, reloadCommandSeconds },
      scenarios: scenarios.map(({ key, group, label, path: p, connections, workers }) => ({ key, group, label, path: p, connections, workers: workers.map((w) => names[w]) })),
      restartedDuringRun: restarted.map((p) => p.name),
      summaries, ratios, rss, startToReady, measurements,
    }, null, 2)}\n`);
    fs.writeFileSync(`${base}.md`, `${md.join('\n')}\n`);
    fs.writeFileSync(`${base}.svg`, chart);
    console.log(`\n${md.join('\n')}\n`);
    console.log(`Wrote ${['json', 'md', 'svg'].map((ext) => path.relative(PROJECT_ROOT, `${base}.${ext}`)).join(', ')} in ${benchSeconds.toFixed(0)} s.`);
  } finally {
    await stack.cleanup();
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  },
);

// What the HTTP tier costs, measured in one run on this machine: a throwaway pm2 stack (isolated PM2_HOME,
// temporary STACK_DIR, free ports) started with `tsx cluster/cli/start.ts` exactly as `npm start` does,
// plus variant workers added with `pm2 start <file>.json`, built from cluster/ecosystem.ts's worker
// entries with one change each. Autocannon (loopback, keep-alive) drives, interleaved, repetition by
// repetition:
//   - a product worker: pm2 cluster mode, ACCESS_LOG on (the default);
//   - the same worker in fork mode (exec_mode 'fork', same env otherwise);
//   - cluster mode and fork mode with ACCESS_LOG=0;
//   - HAProxy's HTTP front door (HTTP_PORT), balancing over the two product workers;
// for GET / (no database: the HTTP ceiling) and GET /todos at 8 connections, the cluster/fork pair also
// at 64, and GET / with `Connection: close` (one new connection per request) for cluster and fork mode
// with the log off. The CPU time of the workers, of pm2's daemon and of HAProxy is read from /proc
// before and after each measurement. Absolute numbers drift on a shared machine; the ratios between rows
// of one run are the result. Usage: npm run bench:tier [-- --seconds 5 --reps 3 --warmup 1 --no-64]
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import autocannon from 'autocannon';
import { workerAppName } from '../cluster/ecosystem';
import { listProcesses } from '../cluster/pm2';
import { PROJECT_ROOT } from '../cluster/settings';
import { freePort } from '../cluster/free-port';
import { childPids, cpuSeconds, totalCpuSeconds } from './proc-cpu';
import { fmt, fmtSpread, median, spread, type Spread } from './stats';
import { expectStatus, processByName, startThrowawayStack, variantApp } from './throwaway-stack';
import { parseArgs } from './args';

const STACK_NAME = 'khtier';

interface Options {
  seconds: number;
  warmupSeconds: number;
  reps: number;
  with64: boolean;
}

function parseOptions(argv: string[]): Options {
  const args = parseArgs(argv, { seconds: 5, warmup: 1, reps: 3, 'no-64': false });
  return { seconds: args.seconds, warmupSeconds: args.warmup, reps: Math.round(args.reps), with64: !args['no-64'] };
}

type TargetKey = 'cluster' | 'fork' | 'cluster-nolog' | 'fork-nolog' | 'front-door';

interface Target {
  key: TargetKey;
  label: string;
  mode: 'cluster' | 'fork' | 'HAProxy HTTP_PORT';
  accessLog: boolean;
  port: number;
  /** The worker processes this target's requests reach (both product workers for the front door). */
  workerPids: number[];
}

interface Scenario {
  target: Target;
  path: string;
  connections: number;
  /** Send `Connection: close`: one TCP connection (so one accept) per request. */
  close: boolean;
}

interface Measurement {
  rep: number;
  target: TargetKey;
  path: string;
  connections: number;
  close: boolean;
  rps: number;
  requests: number;
  p50: number;
  p99: number;
  errors: number;
  timeouts: number;
  non2xx: number;
  wallSeconds: number;
  /** CPU seconds used during the measurement. */
  workerCpu: number;
  daemonCpu: number;
  haproxyCpu: number;
}

function pathLabel(row: { path: string; close: boolean }): string {
  return row.close ? `${row.path} (Connection: close)` : row.path;
}

interface Summary {
  target: TargetKey;
  label: string;
  mode: string;
  accessLog: boolean;
  path: string;
  connections: number;
  close: boolean;
  rps: Spread;
  p50: Spread;
  p99: Spread;
  errors: number;
  non2xx: number;
  /** Percent of one core, median over the repetitions. */
  workerCpuPct: number;
  daemonCpuPct: number;
  haproxyCpuPct: number;
  /** CPU microseconds per request, median over the repetitions. */
  workerCpuUsPerReq: number;
  daemonCpuUsPerReq: number;
  haproxyCpuUsPerReq: number;
  /** Workers + pm2 daemon + HAProxy, CPU microseconds per request, median over the repetitions. */
  tierCpuUsPerReq: number;
}

interface Ratio {
  name: string;
  numerator: string;
  denominator: string;
  path: string;
  connections: number;
  close: boolean;
  /** Per-repetition ratios of req/s (each pair measured in the same repetition). */
  perRep: number[];
  median: number;
  min: number;
  max: number;
  /** Median CPU microseconds per request (workers + pm2 daemon + HAProxy) of each side. */
  tierCpuUsPerReq: { numerator: number; denominator: number };
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  const stack = await startThrowawayStack({
    stackName: STACK_NAME,
    workers: 2,
    extraEnv: {
      // 5 workers x 1 connection, plus the reload overlap the settings check counts, plus room.
      HAPROXY_SERVER_MAXCONN: '20',
      // 64 connections on one worker with one database connection queue 63 requests: raise the limits
      // so the bench measures throughput, not the 503s that protect users.
      DB_QUEUE_LIMIT: '1000',
      DB_ACQUIRE_TIMEOUT_MS: '60000',
    },
  });
  const { env } = stack;
  const [productA, productB] = stack.workerPorts as [number, number];

  try {
    const [forkPort, clusterNologPort, forkNologPort] = [await freePort(), await freePort(), await freePort()];
    const variants = [
      variantApp(env, forkPort, `${STACK_NAME}-fork-${forkPort}`, { fork: true }),
      variantApp(env, clusterNologPort, `${STACK_NAME}-cluster-nolog-${clusterNologPort}`, { env: { ACCESS_LOG: '0' } }),
      variantApp(env, forkNologPort, `${STACK_NAME}-fork-nolog-${forkNologPort}`, { fork: true, env: { ACCESS_LOG: '0' } }),
    ];
    await stack.addVariants(variants, [forkPort, clusterNologPort, forkNologPort]);

    const processes = await listProcesses(env);
    const pidOf = (name: string) => processByName(processes, name).pid;
    const settings = stack.settings;
    const productPids = [pidOf(workerAppName(settings, productA)), pidOf(workerAppName(settings, productB))];
    const godPid = stack.godPid;
    const haproxyMaster = pidOf(`${STACK_NAME}-haproxy`);
    const haproxyPids = [haproxyMaster, ...childPids(haproxyMaster)];

    const targets: Record<TargetKey, Target> = {
      'cluster': { key: 'cluster', label: 'cluster (product)', mode: 'cluster', accessLog: true, port: productA, workerPids: [productPids[0]!] },
      'fork': { key: 'fork', label: 'fork', mode: 'fork', accessLog: true, port: forkPort, workerPids: [pidOf(variants[0]!.name)] },
      'cluster-nolog': { key: 'cluster-nolog', label: 'cluster, ACCESS_LOG=0', mode: 'cluster', accessLog: false, port: clusterNologPort, workerPids: [pidOf(variants[1]!.name)] },
      'fork-nolog': { key: 'fork-nolog', label: 'fork, ACCESS_LOG=0', mode: 'fork', accessLog: false, port: forkNologPort, workerPids: [pidOf(variants[2]!.name)] },
      'front-door': { key: 'front-door', label: 'front door (2 workers)', mode: 'HAProxy HTTP_PORT', accessLog: true, port: settings.httpPort, workerPids: productPids },
    };
    for (const target of Object.values(targets)) {
      for (const p of ['/', '/todos']) await expectStatus(`http://127.0.0.1:${target.port}${p}`);
    }

    const scenarios: Scenario[] = [];
    for (const p of ['/', '/todos']) {
      for (const key of ['cluster', 'fork', 'cluster-nolog', 'fork-nolog', 'front-door'] as const) {
        scenarios.push({ target: targets[key], path: p, connections: 8, close: false });
      }
    }
    if (options.with64) {
      for (const p of ['/', '/todos']) {
        for (const key of ['cluster', 'fork'] as const) scenarios.push({ target: targets[key], path: p, connections: 64, close: false });
      }
    }
    // Without keep-alive every request is a new connection, so in cluster mode every request goes through
    // the daemon's accept and the handle's IPC handoff: what keep-alive amortises. Access log off on
    // both sides, so only the accept path differs.
    for (const key of ['cluster-nolog', 'fork-nolog'] as const) scenarios.push({ target: targets[key], path: '/', connections: 8, close: true });
    const loadSeconds = scenarios.length * options.reps * (options.seconds + options.warmupSeconds);
    console.log(`${scenarios.length} scenarios x ${options.reps} repetitions, ${options.warmupSeconds} s warm-up + `
      + `${options.seconds} s each: about ${(loadSeconds / 60).toFixed(1)} min of load.`);

    const measurements: Measurement[] = [];
    for (let rep = 0; rep < options.reps; rep++) {
      // Interleaved: every scenario once per repetition, in a rotated (and on odd repetitions reversed)
      // order, so a slow minute on the shared machine spreads over all of them.
      const shift = (rep * 3) % scenarios.length;
      let order = [...scenarios.slice(shift), ...scenarios.slice(0, shift)];
      if (rep % 2 === 1) order = order.reverse();
      for (const scenario of order) {
        const url = `http://127.0.0.1:${scenario.target.port}${scenario.path}`;
        const headers: Record<string, string> = scenario.close ? { connection: 'close' } : {};
        await autocannon({ url, connections: scenario.connections, duration: options.warmupSeconds, headers });
        const before = {
          worker: totalCpuSeconds(scenario.target.workerPids), daemon: cpuSeconds(godPid), haproxy: totalCpuSeconds(haproxyPids),
        };
        const t0 = performance.now();
        const result = await autocannon({ url, connections: scenario.connections, duration: options.seconds, headers });
        const wallSeconds = (performance.now() - t0) / 1000;
        const m: Measurement = {
          rep: rep + 1,
          target: scenario.target.key,
          path: scenario.path,
          connections: scenario.connections,
          close: scenario.close,
          rps: result.requests.average,
          requests: result.requests.total,
          p50: result.latency.p50,
          p99: result.latency.p99,
          errors: result.errors,
          timeouts: result.timeouts,
          non2xx: result.non2xx,
          wallSeconds,
          workerCpu: totalCpuSeconds(scenario.target.workerPids) - before.worker,
          daemonCpu: cpuSeconds(godPid) - before.daemon,
          haproxyCpu: totalCpuSeconds(haproxyPids) - before.haproxy,
        };
        measurements.push(m);
        console.log(`  rep ${m.rep}  ${scenario.target.label.padEnd(24)} ${pathLabel(m).padEnd(16)} c=${String(m.connections).padEnd(3)}`
          + ` ${fmt(m.rps).padStart(6)} req/s  p50 ${m.p50} ms  p99 ${m.p99} ms  errors ${m.errors}  non-2xx ${m.non2xx}`
          + `  cpu worker ${fmt((100 * m.workerCpu) / wallSeconds)}% daemon ${fmt((100 * m.daemonCpu) / wallSeconds)}%`
          + ` haproxy ${fmt((100 * m.haproxyCpu) / wallSeconds)}%`);
      }
    }

    // A worker pm2 restarted mid-run would make its CPU numbers (and maybe its req/s) meaningless.
    const after = await listProcesses(env);
    const restarted = after.filter((p) => {
      const was = processes.find((q) => q.name === p.name);
      return !was || was.pid !== p.pid || was.restarts !== p.restarts;
    });
    if (restarted.length > 0) console.warn(`WARNING: restarted during the run: ${restarted.map((p) => p.name).join(', ')}`);

    const tierCpu = (m: Measurement) => m.workerCpu + m.daemonCpu + m.haproxyCpu;
    const summaries: Summary[] = scenarios.map(({ target, path: p, connections, close }) => {
      const ms = measurements.filter((m) => m.target === target.key && m.path === p && m.connections === connections && m.close === close);
      const pct = (pick: (m: Measurement) => number) => median(ms.map((m) => (100 * pick(m)) / m.wallSeconds));
      const perReq = (pick: (m: Measurement) => number) => median(ms.map((m) => (1e6 * pick(m)) / Math.max(1, m.requests)));
      return {
        target: target.key, label: target.label, mode: target.mode, accessLog: target.accessLog, path: p, connections, close,
        rps: spread(ms.map((m) => m.rps)), p50: spread(ms.map((m) => m.p50)), p99: spread(ms.map((m) => m.p99)),
        errors: ms.reduce((s, m) => s + m.errors, 0), non2xx: ms.reduce((s, m) => s + m.non2xx, 0),
        workerCpuPct: pct((m) => m.workerCpu), daemonCpuPct: pct((m) => m.daemonCpu), haproxyCpuPct: pct((m) => m.haproxyCpu),
        workerCpuUsPerReq: perReq((m) => m.workerCpu), daemonCpuUsPerReq: perReq((m) => m.daemonCpu),
        haproxyCpuUsPerReq: perReq((m) => m.haproxyCpu),
        tierCpuUsPerReq: perReq(tierCpu),
      };
    });

    const ratio = (name: string, numerator: TargetKey, denominator: TargetKey, p: string, connections: number, close = false): Ratio | undefined => {
      const perRep: number[] = [];
      const find = (key: TargetKey, rep: number) => measurements.find((m) => m.rep === rep && m.target === key && m.path === p
        && m.connections === connections && m.close === close);
      for (let rep = 1; rep <= options.reps; rep++) {
        const top = find(numerator, rep);
        const bottom = find(denominator, rep);
        if (top && bottom && bottom.rps > 0) perRep.push(top.rps / bottom.rps);
      }
      if (perRep.length === 0) return undefined;
      const cpu = (key: TargetKey) => summaries.find((s) => s.target === key && s.path === p && s.connections === connections
        && s.close === close)?.tierCpuUsPerReq ?? NaN;
      return {
        name, numerator, denominator, path: p, connections, close, perRep, ...spread(perRep),
        tierCpuUsPerReq: { numerator: cpu(numerator), denominator: cpu(denominator) },
      };
    };
    const ratios = [
      ratio('fork / cluster', 'fork', 'cluster', '/', 8),
      ratio('fork / cluster', 'fork', 'cluster', '/todos', 8),
      ratio('fork / cluster', 'fork', 'cluster', '/', 64),
      ratio('fork / cluster', 'fork', 'cluster', '/todos', 64),
      ratio('fork / cluster, both ACCESS_LOG=0', 'fork-nolog', 'cluster-nolog', '/', 8),
      ratio('fork / cluster, both ACCESS_LOG=0', 'fork-nolog', 'cluster-nolog', '/todos', 8),
      ratio('fork / cluster, both ACCESS_LOG=0, Connection: close', 'fork-nolog', 'cluster-nolog', '/', 8, true),
      ratio('ACCESS_LOG off / on, cluster', 'cluster-nolog', 'cluster', '/', 8),
      ratio('ACCESS_LOG off / on, cluster', 'cluster-nolog', 'cluster', '/todos', 8),
      ratio('ACCESS_LOG off / on, fork', 'fork-nolog', 'fork', '/', 8),
      ratio('ACCESS_LOG off / on, fork', 'fork-nolog', 'fork', '/todos', 8),
      ratio('direct / front door', 'cluster', 'front-door', '/todos', 8),
      ratio('direct / front door', 'cluster', 'front-door', '/', 8),
    ].filter((r): r is Ratio => r !== undefined);

    const date = new Date().toISOString().slice(0, 10);
    console.log(`\n${os.cpus().length} cores, Node ${process.version}, ${options.reps} repetitions interleaved, `
      + `${options.warmupSeconds} s warm-up + ${options.seconds} s each, ${new Date().toISOString()}. `
      + 'req/s, p50 and p99: median (min–max); CPU: median, % of one core (µs per request). '
      + 'For the front door, "worker" is both product workers.\n');
    console.log('| worker | mode | ACCESS_LOG | path | conns | req/s | p50 ms | p99 ms | errors / non-2xx '
      + '| worker CPU | pm2 daemon CPU | HAProxy CPU | CPU µs/req, all three |');
    console.log('|---|---|---|---|---|---|---|---|---|---|---|---|---|');
    for (const s of summaries) {
      // autocannon's latency is wrong when the server closes each connection (it reports hundreds of ms
      // against a trivial server): left out.
      const latency = s.close ? '(n/a) | (n/a)' : `${fmtSpread(s.p50)} | ${fmtSpread(s.p99)}`;
      console.log(`| ${s.label} | ${s.mode} | ${s.accessLog ? 'on' : 'off'} | ${pathLabel(s)} | ${s.connections} | ${fmtSpread(s.rps)} `
        + `| ${latency} | ${s.errors} / ${s.non2xx} `
        + `| ${fmt(s.workerCpuPct)}% (${fmt(s.workerCpuUsPerReq)}) | ${fmt(s.daemonCpuPct)}% (${fmt(s.daemonCpuUsPerReq, 1)}) `
        + `| ${fmt(s.haproxyCpuPct)}% (${fmt(s.haproxyCpuUsPerReq, 1)}) | ${fmt(s.tierCpuUsPerReq)} |`);
    }
    console.log('\nRatios of req/s (per repetition, both sides measured in the same repetition): median (min–max)\n');
    for (const r of ratios) {
      console.log(`- ${r.name}, GET ${r.path}, ${r.connections} connections${r.close ? ' (a new one per request)' : ''}: `
        + `**${r.median.toFixed(2)}x** (${r.min.toFixed(2)}–${r.max.toFixed(2)}); CPU per request `
        + `${fmt(r.tierCpuUsPerReq.numerator)} µs against ${fmt(r.tierCpuUsPerReq.denominator)} µs`);
    }

    const resultsDir = path.join(PROJECT_ROOT, 'bench', 'results');
    fs.mkdirSync(resultsDir, { recursive: true });
    const file = path.join(resultsDir, `tier-${date}.json`);
    fs.writeFileSync(file, `${JSON.stringify({
      bench: 'tier',
      date: new Date().toISOString(),
      machine: { cores: os.cpus().length, cpu: os.cpus()[0]?.model, node: process.version, platform: `${os.type()} ${os.release()}` },
      options: { ...options, connections: options.with64 ? [8, 64] : [8], env: { HAPROXY_SERVER_MAXCONN: env.HAPROXY_SERVER_MAXCONN, DB_QUEUE_LIMIT: env.DB_QUEUE_LIMIT, DB_ACQUIRE_TIMEOUT_MS: env.DB_ACQUIRE_TIMEOUT_MS } },
      targets: Object.values(targets).map(({ key, label, mode, accessLog }) => ({ key, label, mode, accessLog })),
      restartedDuringRun: restarted.map((p) => p.name),
      summaries,
      ratios,
      measurements,
    }, null, 2)}\n`);
    console.log(`\nWrote ${path.relative(PROJECT_ROOT, file)}`);
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

// `npm run bench:tier`: what pm2 cluster mode, the access log and the front door cost, in one run. A
// throwaway stack (bench/throwaway-stack.ts, as `npm start`; two product workers) plus variant workers
// built from cluster/ecosystem.ts's worker entry with one change each: fork mode, ACCESS_LOG=0, both.
// Autocannon (loopback, keep-alive) drives, interleaved and rotated per repetition:
//   - a product worker: pm2 cluster mode, ACCESS_LOG on (the default);
//   - the same worker in fork mode; cluster and fork mode with ACCESS_LOG=0;
//   - HAProxy's HTTP front door (HTTP_PORT), balancing over the two product workers;
// for GET / and GET /todos at 8 connections, the cluster/fork pair also at 64 (--no-64 leaves it out), and
// GET / with `Connection: close` (a new connection per request) for cluster and fork with the log off.
// CPU of the workers, pm2's daemon and HAProxy from /proc. Writes bench/results/tier-<date>.{md,svg,json}.
// Usage: npm run bench:tier [-- --quick] [--seconds 5 --reps 3 --warmup 1 --no-64]
import { loadDotEnv } from '../cluster/env-file';
import path from 'node:path';
import { workerAppName } from '../cluster/ecosystem';
import { freePort } from '../cluster/free-port';
import { listProcesses } from '../cluster/pm2';
import { renderChart } from './harness/chart';
import { ratioTable, summaryTable } from './harness/markdown';
import { httpLoad, type Watch } from './harness/measure';
import { childPids } from './harness/proc';
import { CHART_FILE, runInfo, runParagraph, writeResults } from './harness/results';
import {
  parseRunOptions,
  ratio,
  rotatedOrder,
  runRepetitions,
  summarize,
  type Ratio,
  type Scenario,
} from './harness/run';
import { expectStatus, processByName, startThrowawayStack, variantApp } from './throwaway-stack';

// The project's .env, as every command reads it (a shell value wins).
loadDotEnv();

const STACK_NAME = 'khtier';

type TargetKey = 'cluster' | 'fork' | 'cluster-nolog' | 'fork-nolog' | 'front-door';

interface Target {
  key: TargetKey;
  label: string;
  port: number;
  /** The worker processes this target's requests reach (both product workers for the front door). */
  workerPids: number[];
}

const keyOf = (target: TargetKey, p: string, connections: number, close = false) =>
  `${target} ${p} ${connections}${close ? ' close' : ''}`;

async function main(): Promise<void> {
  const started = Date.now();
  const options = parseRunOptions(process.argv.slice(2), { seconds: 5, warmup: 1, reps: 3 }, { 'no-64': false });
  const info = runInfo();
  const stack = await startThrowawayStack({
    stackName: STACK_NAME,
    workers: 2,
    extraEnv: {
      // 5 workers x 1 connection, plus the reload overlap the settings check counts, plus room.
      HAPROXY_SERVER_MAXCONN: '20',
      // 64 connections on one worker with one database connection queue 63 requests: raise the limits
      // so this bench measures the tier's cost, not the 503s that protect users (npm run bench counts those).
      DB_QUEUE_LIMIT: '1000',
      DB_ACQUIRE_TIMEOUT_MS: '60000',
    },
  });
  const { env, settings } = stack;
  const [productA, productB] = stack.workerPorts as [number, number];
  try {
    const [forkPort, clusterNologPort, forkNologPort] = [await freePort(), await freePort(), await freePort()];
    const variants = [
      variantApp(env, forkPort, `${STACK_NAME}-fork-${forkPort}`, { fork: true }),
      variantApp(env, clusterNologPort, `${STACK_NAME}-cluster-nolog-${clusterNologPort}`, {
        env: { ACCESS_LOG: '0' },
      }),
      variantApp(env, forkNologPort, `${STACK_NAME}-fork-nolog-${forkNologPort}`, {
        fork: true,
        env: { ACCESS_LOG: '0' },
      }),
    ];
    await stack.addVariants(variants, [forkPort, clusterNologPort, forkNologPort]);

    const processes = await listProcesses(env);
    const pidOf = (name: string) => processByName(processes, name).pid;
    const productPids = [pidOf(workerAppName(settings, productA)), pidOf(workerAppName(settings, productB))];
    const haproxyMaster = pidOf(`${STACK_NAME}-haproxy`);
    const haproxyPids = [haproxyMaster, ...childPids(haproxyMaster)];
    const targets: Record<TargetKey, Target> = {
      cluster: { key: 'cluster', label: 'cluster (product)', port: productA, workerPids: [productPids[0]!] },
      fork: { key: 'fork', label: 'fork', port: forkPort, workerPids: [pidOf(variants[0]!.name)] },
      'cluster-nolog': {
        key: 'cluster-nolog',
        label: 'cluster, ACCESS_LOG=0',
        port: clusterNologPort,
        workerPids: [pidOf(variants[1]!.name)],
      },
      'fork-nolog': {
        key: 'fork-nolog',
        label: 'fork, ACCESS_LOG=0',
        port: forkNologPort,
        workerPids: [pidOf(variants[2]!.name)],
      },
      'front-door': {
        key: 'front-door',
        label: 'front door (2 workers)',
        port: settings.haproxy.httpPort,
        workerPids: productPids,
      },
    };
    for (const target of Object.values(targets))
      for (const p of ['/', '/todos']) await expectStatus(`http://127.0.0.1:${target.port}${p}`);

    const scenario = (key: TargetKey, p: string, connections: number, close = false): Scenario => {
      const target = targets[key];
      const watch: Watch = { worker: target.workerPids, pm2: [stack.godPid], haproxy: haproxyPids };
      return {
        key: keyOf(key, p, connections, close),
        label: `${target.label}, GET ${p}${close ? ' (Connection: close)' : ''}, ${connections} conn.`,
        run: () =>
          httpLoad({
            url: `http://127.0.0.1:${target.port}${p}`,
            connections,
            seconds: options.seconds,
            warmupSeconds: options.warmupSeconds,
            headers: close ? { connection: 'close' } : undefined,
            watch,
            rssOf: key === 'front-door' ? [] : ['worker'],
          }),
      };
    };
    const scenarios: Scenario[] = [];
    for (const p of ['/', '/todos']) {
      for (const key of ['cluster', 'fork', 'cluster-nolog', 'fork-nolog', 'front-door'] as const)
        scenarios.push(scenario(key, p, 8));
    }
    if (!options['no-64']) {
      for (const p of ['/', '/todos'])
        for (const key of ['cluster', 'fork'] as const) scenarios.push(scenario(key, p, 64));
    }
    // Without keep-alive every request is a new connection, so in cluster mode every request goes through
    // the daemon's accept and the handle's IPC handoff: what keep-alive amortises. Access log off on
    // both sides, so only the accept path differs.
    for (const key of ['cluster-nolog', 'fork-nolog'] as const) scenarios.push(scenario(key, '/', 8, true));
    console.log(
      `${scenarios.length} scenarios x ${options.reps} repetitions: about ` +
        `${((scenarios.length * options.reps * (options.seconds + options.warmupSeconds)) / 60).toFixed(1)} min of load.`,
    );

    const measurements = await runRepetitions({ scenarios, reps: options.reps, order: rotatedOrder(3) });

    const after = await listProcesses(env);
    const restarted = after
      .filter((p) => {
        const was = processes.find((q) => q.name === p.name);
        return !was || was.pid !== p.pid || was.restarts !== p.restarts;
      })
      .map((p) => p.name);
    if (restarted.length > 0) console.warn(`WARNING: restarted during the run: ${restarted.join(', ')}`);

    const summaries = summarize(scenarios, measurements);
    const measured = new Set(summaries.map((s) => s.key));
    const ratios: Ratio[] = [];
    const add = (
      name: string,
      top: TargetKey,
      bottom: TargetKey,
      p: string,
      connections: number,
      close = false,
      target?: number,
    ) => {
      const [a, b] = [keyOf(top, p, connections, close), keyOf(bottom, p, connections, close)];
      if (measured.has(a) && measured.has(b)) {
        ratios.push(
          ratio(measurements, `${name}, GET ${p}${close ? ' (Connection: close)' : ''}, ${connections} conn.`, a, b, {
            target,
          }),
        );
      }
    };
    for (const p of ['/', '/todos']) for (const c of [8, 64]) add('fork / cluster', 'fork', 'cluster', p, c);
    for (const p of ['/', '/todos']) add('fork / cluster, both ACCESS_LOG=0', 'fork-nolog', 'cluster-nolog', p, 8);
    add('fork / cluster, both ACCESS_LOG=0', 'fork-nolog', 'cluster-nolog', '/', 8, true);
    // Issue 16: access log on/off <= 1.1x, i.e. on / off >= 1 / 1.1.
    for (const p of ['/', '/todos']) add('ACCESS_LOG on / off, cluster', 'cluster', 'cluster-nolog', p, 8, false, 0.91);
    for (const p of ['/', '/todos']) add('ACCESS_LOG on / off, fork', 'fork', 'fork-nolog', p, 8);
    for (const p of ['/todos', '/']) add('front door / direct', 'front-door', 'cluster', p, 8);

    const wallSeconds = (Date.now() - started) / 1000;
    const summary = (key: string) => summaries.find((s) => s.key === key);
    const svg = renderChart({
      title: 'one worker: pm2 cluster and fork mode, access log on and off (req/s, median; bar: min–max)',
      xLabel: 'connections',
      xs: options['no-64'] ? [8] : [8, 64],
      panels: ['/', '/todos'].map((p) => ({
        title: `GET ${p}`,
        yLabel: 'req/s',
        series: (['cluster', 'fork', 'cluster-nolog', 'fork-nolog'] as const).map((key) => ({
          label: targets[key].label,
          points: [8, 64].flatMap((c) => {
            const s = summary(keyOf(key, p, c));
            return s ? [{ x: c, y: s.rps.median, low: s.rps.min, high: s.rps.max }] : [];
          }),
        })),
        lines: summary(keyOf('front-door', p, 8))
          ? [{ label: 'front door, 8 conn.', y: summary(keyOf('front-door', p, 8))!.rps.median }]
          : [],
      })),
      note: `${info.date}, ${info.machine.cores} cores, Node ${info.node}, commit ${info.commit.slice(0, 12)}, ${options.reps} repetition(s) of ${options.seconds} s`,
    });
    const md = [
      `# npm run bench:tier, ${info.date}${options.quick ? ' (quick)' : ''}`,
      '',
      runParagraph(info, options, wallSeconds),
      '',
      'DB_QUEUE_LIMIT=1000, DB_ACQUIRE_TIMEOUT_MS=60000, HAPROXY_SERVER_MAXCONN=20. CPU: median % of one core (µs per request); ' +
        'for the front door, "worker" is both product workers. autocannon\'s latency is wrong when every request opens a new connection: ' +
        'ignore p50/p99 of the Connection: close rows.',
      '',
      `![tier](${CHART_FILE})`,
      '',
      ...summaryTable(summaries, {
        cpu: [
          { name: 'worker', header: 'worker CPU' },
          { name: 'pm2', header: 'pm2 daemon CPU' },
          { name: 'haproxy', header: 'HAProxy CPU' },
        ],
        rss: [{ name: 'worker', header: 'worker peak RSS MB' }],
      }),
      '',
      ...ratioTable(ratios),
    ];
    if (restarted.length > 0) md.push('', `**Restarted during the run:** ${restarted.join(', ')}.`);
    const written = writeResults('tier', info, options.quick, {
      markdown: md,
      svg,
      json: {
        options,
        wallSeconds,
        stackStartSeconds: stack.startSeconds,
        env: { HAPROXY_SERVER_MAXCONN: '20', DB_QUEUE_LIMIT: '1000', DB_ACQUIRE_TIMEOUT_MS: '60000' },
        restartedDuringRun: restarted,
        summaries,
        ratios,
      },
    });
    console.log(`\n${md.join('\n')}\n\nWrote ${written.map((f) => path.relative(process.cwd(), f)).join(', ')}.`);
  } finally {
    await stack.cleanup();
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error instanceof Error ? (error.stack ?? error.message) : error);
    process.exit(1);
  },
);

// `npm run bench:galera`: the /todos limit and one worker's /todos through the Galera writer, beside the
// single server, in one run (issue 10, item 5). Two throwaway stacks (bench/throwaway-stack.ts: `tsx
// cluster/cli/start.ts` as `npm start`, isolated PM2_HOME, temporary STACK_DIR, free ports, one product
// worker each) run side by side: the default single embedded MariaDB, and DB_TOPOLOGY=galera (three local
// nodes behind the same HAProxy frontend, n1 the writer, GALERA_*_PORT bases on free ports). Each
// repetition measures, for each pair, both stacks back to back (which one goes first alternates):
//   (a) the limit through HAProxy: one mysql2 connection running list_todos back to back (bench/limit.ts);
//   (b) GET /todos on the worker, 8 connections (autocannon);
//   (c) POST /todos on the worker, 8 connections (writes: on Galera, certification and replication to the
//       two other nodes before the commit returns); the rows it added are deleted afterwards, so every
//       repetition reads the same two seed rows.
// and reads req/s (q/s), p50, p99, errors and the CPU of the worker, HAProxy and every mariadbd of the
// stack from /proc. Ratios galera/single are taken within a repetition. Writes
// bench/results/galera-<date>.json. Both stacks are stopped at the end, on failure and Ctrl-C too.
// Usage: npm run bench:galera [-- --seconds 5 --warmup 1 --reps 3 --no-post]
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import autocannon from 'autocannon';
import mysql from 'mysql2/promise';
import { workerAppName } from '../cluster/ecosystem';
import { listProcesses } from '../cluster/pm2';
import { PROJECT_ROOT } from '../cluster/settings';
import { LIST_TODOS_SQL, measureLimit } from './limit';
import { childPids, totalCpuSeconds } from './proc-cpu';
import { fmt, fmtSpread, spread, type Spread } from './stats';
import { expectStatus, processByName, startThrowawayStack, type ThrowawayStack } from './throwaway-stack';
import { parseArgs } from './args';
import { freeGaleraBasePorts } from '../cluster/database/galera/free-base-ports';

type Side = 'single' | 'galera';
const SIDES: Side[] = ['single', 'galera'];
type ScenarioKey = 'limit' | 'get-todos-8' | 'post-todos-8';

interface Options {
  seconds: number;
  warmupSeconds: number;
  reps: number;
  post: boolean;
}

function parseOptions(argv: string[]): Options {
  const args = parseArgs(argv, { seconds: 5, warmup: 1, reps: 3, 'no-post': false });
  const options: Options = { seconds: args.seconds, warmupSeconds: args.warmup, reps: Math.round(args.reps), post: !args['no-post'] };
  if (options.reps < 3) console.warn('Fewer than 3 repetitions: the ranges mean little.');
  return options;
}

interface Cpu { worker: number; haproxy: number; mariadb: number; loadGenerator: number }

interface Measurement {
  rep: number;
  side: Side;
  scenario: ScenarioKey;
  rps: number;
  requests: number;
  p50: number;
  p99: number;
  errors: number;
  non2xx: number;
  wallSeconds: number;
  /** CPU seconds used during the measurement; mariadb is every mariadbd of the stack (3 for Galera). */
  cpu: Cpu;
}

interface Target {
  side: Side;
  stack: ThrowawayStack;
  workerPort: number;
  workerPid: number;
  haproxyPids: number[];
  mariadbPids: number[];
  /** The highest todo id before the run: rows above it are the POSTs', deleted after each repetition. */
  baselineMaxId: number;
  server: Record<string, string | number | null>;
}

/** Every mariadbd whose command line names this stack's temporary folder (1, or 3 for Galera). */
function mariadbPidsOf(home: string): number[] {
  const pids: number[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (fs.readFileSync(`/proc/${entry}/comm`, 'utf8').trim() !== 'mariadbd') continue;
      if (fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(home)) pids.push(Number(entry));
    } catch {
      // ended while we looked
    }
  }
  return pids;
}

function appConnection(stack: ThrowawayStack): Promise<mysql.Connection> {
  const { settings } = stack;
  return mysql.createConnection({
    host: '127.0.0.1', port: settings.haproxyPort, user: settings.appUser, password: settings.appPassword,
    database: 'test', charset: 'utf8mb4_unicode_ci',
  });
}

/** What HAProxy's MySQL frontend reaches, as the app user sees it. */
async function describeServer(stack: ThrowawayStack): Promise<{ server: Target['server']; maxId: number }> {
  const connection = await appConnection(stack);
  try {
    const [vars] = await connection.query<mysql.RowDataPacket[]>(
      'SELECT @@version AS version, @@wsrep_on AS wsrep_on, @@wsrep_node_name AS wsrep_node_name, @@wsrep_sync_wait AS wsrep_sync_wait, '
      + '@@innodb_flush_log_at_trx_commit AS innodb_flush_log_at_trx_commit');
    const [status] = await connection.query<mysql.RowDataPacket[]>("SHOW GLOBAL STATUS WHERE Variable_name IN ('wsrep_cluster_size', 'wsrep_local_state_comment', 'wsrep_provider_version')");
    const [max] = await connection.query<mysql.RowDataPacket[]>('SELECT COALESCE(MAX(id), 0) AS max_id, COUNT(*) AS n FROM todos');
    const server: Target['server'] = { ...(vars[0] as Record<string, string | number | null>), rows: Number(max[0]!.n) };
    for (const row of status) server[String(row.Variable_name)] = String(row.Value);
    return { server, maxId: Number(max[0]!.max_id) };
  } finally {
    await connection.end();
  }
}

/** Deletes the rows POST /todos added, so every repetition reads the seed rows only. */
async function deletePosted(target: Target): Promise<number> {
  const connection = await appConnection(target.stack);
  try {
    const [result] = await connection.query<mysql.ResultSetHeader>('DELETE FROM todos WHERE id > ?', [target.baselineMaxId]);
    return result.affectedRows;
  } finally {
    await connection.end();
  }
}

async function prepareTarget(side: Side, stack: ThrowawayStack): Promise<Target> {
  const workerPort = stack.workerPorts[0]!;
  const processes = await listProcesses(stack.env);
  const workerPid = processByName(processes, workerAppName(stack.settings, workerPort)).pid;
  const haproxyMaster = processByName(processes, `${stack.settings.appPrefix}-haproxy`).pid;
  const mariadbPids = mariadbPidsOf(stack.home);
  const expected = side === 'galera' ? 3 : 1;
  if (mariadbPids.length !== expected) throw new Error(`${side}: found ${mariadbPids.length} mariadbd processes, expected ${expected}`);
  await expectStatus(`http://127.0.0.1:${workerPort}/todos`);
  const { server, maxId } = await describeServer(stack);
  if (side === 'galera' && (server.wsrep_on !== 1 || server.wsrep_cluster_size !== '3')) {
    throw new Error(`galera: HAProxy reaches a node with wsrep_on=${server.wsrep_on}, cluster size ${server.wsrep_cluster_size}`);
  }
  return { side, stack, workerPort, workerPid, haproxyPids: [haproxyMaster, ...childPids(haproxyMaster)], mariadbPids, baselineMaxId: maxId, server };
}

const POST_BODY = JSON.stringify({ item: 'bench:galera', status: 'pending' });

async function measure(target: Target, scenario: ScenarioKey, rep: number, options: Options): Promise<Measurement> {
  const { settings } = target.stack;
  const cpuNow = () => ({
    worker: totalCpuSeconds([target.workerPid]), haproxy: totalCpuSeconds(target.haproxyPids), mariadb: totalCpuSeconds(target.mariadbPids),
  });
  if (scenario === 'limit') {
    const before = cpuNow();
    const result = await measureLimit({
      target: { host: '127.0.0.1', port: settings.haproxyPort }, user: settings.appUser, password: settings.appPassword, database: 'test',
      seconds: options.seconds, warmupSeconds: options.warmupSeconds,
    });
    if (result.rows < 1) throw new Error(`${target.side}: list_todos returned no rows`);
    const after = cpuNow();
    return {
      rep, side: target.side, scenario, rps: result.qps, requests: result.queries, p50: result.p50Ms, p99: result.p99Ms,
      errors: result.errors, non2xx: 0, wallSeconds: result.wallSeconds,
      cpu: { worker: after.worker - before.worker, haproxy: after.haproxy - before.haproxy, mariadb: after.mariadb - before.mariadb, loadGenerator: result.clientCpuSeconds },
    };
  }
  const request: autocannon.Options = scenario === 'post-todos-8'
    ? { url: `http://127.0.0.1:${target.workerPort}/todos`, method: 'POST', headers: { 'content-type': 'application/json' }, body: POST_BODY, connections: 8 }
    : { url: `http://127.0.0.1:${target.workerPort}/todos`, connections: 8 };
  await autocannon({ ...request, duration: options.warmupSeconds });
  const before = cpuNow();
  const lgBefore = process.cpuUsage();
  const t0 = performance.now();
  const r = await autocannon({ ...request, duration: options.seconds });
  const wallSeconds = (performance.now() - t0) / 1000;
  const after = cpuNow();
  const lg = process.cpuUsage(lgBefore);
  return {
    rep, side: target.side, scenario, rps: r.requests.average, requests: r.requests.total, p50: r.latency.p50, p99: r.latency.p99,
    errors: r.errors + r.timeouts, non2xx: r.non2xx, wallSeconds,
    cpu: { worker: after.worker - before.worker, haproxy: after.haproxy - before.haproxy, mariadb: after.mariadb - before.mariadb, loadGenerator: (lg.user + lg.system) / 1e6 },
  };
}

const LABELS: Record<ScenarioKey, string> = {
  'limit': 'limit via HAProxy: `list_todos`, 1 connection',
  'get-todos-8': 'one worker: GET /todos, 8 connections',
  'post-todos-8': 'one worker: POST /todos, 8 connections',
};

async function main(): Promise<void> {
  const benchStarted = Date.now();
  const options = parseOptions(process.argv.slice(2));
  const loadBefore = os.loadavg();
  const common = {
    // 64 is not measured here, but keep bench.ts's settings so the numbers compare with its /todos rows.
    DB_QUEUE_LIMIT: '1000',
    DB_ACQUIRE_TIMEOUT_MS: '60000',
  };
  const stacks: Partial<Record<Side, ThrowawayStack>> = {};
  try {
    stacks.single = await startThrowawayStack({ stackName: 'khgsingle', workers: 1, extraEnv: common });
    const base = await freeGaleraBasePorts();
    stacks.galera = await startThrowawayStack({
      stackName: 'khggalera', workers: 1,
      extraEnv: {
        ...common,
        DB_TOPOLOGY: 'galera',
        GALERA_NODES: '3',
        GALERA_CLIENT_PORT: String(base.client), GALERA_GROUP_PORT: String(base.group), GALERA_IST_PORT: String(base.ist),
        GALERA_SST_PORT: String(base.sst), GALERA_AGENT_PORT: String(base.agent),
        START_TIMEOUT_MS: '150000',
      },
    });
    const targets: Record<Side, Target> = {
      single: await prepareTarget('single', stacks.single),
      galera: await prepareTarget('galera', stacks.galera),
    };
    for (const side of SIDES) console.log(`${side}: ${JSON.stringify(targets[side].server)}`);

    const scenarios: ScenarioKey[] = options.post ? ['limit', 'get-todos-8', 'post-todos-8'] : ['limit', 'get-todos-8'];
    const measurements: Measurement[] = [];
    const deleted: { rep: number; side: Side; rows: number }[] = [];
    console.log(`${scenarios.length} scenarios x 2 stacks x ${options.reps} repetitions: about `
      + `${((scenarios.length * 2 * options.reps * (options.seconds + options.warmupSeconds)) / 60).toFixed(1)} min of load.`);
    for (let rep = 1; rep <= options.reps; rep++) {
      // Alternate which stack goes first, so neither always runs right after the other's load.
      const order: Side[] = rep % 2 === 1 ? ['single', 'galera'] : ['galera', 'single'];
      for (const scenario of scenarios) {
        for (const side of order) {
          const m = await measure(targets[side], scenario, rep, options);
          measurements.push(m);
          const pct = (s: number) => `${fmt((100 * s) / m.wallSeconds)}%`;
          const digits = scenario === 'limit' ? 3 : 0;
          console.log(`  rep ${rep}  ${scenario.padEnd(13)} ${side.padEnd(6)} ${fmt(m.rps).padStart(6)} /s  p50 ${fmt(m.p50, digits)} ms  p99 ${fmt(m.p99, digits)} ms`
            + `  errors ${m.errors} non-2xx ${m.non2xx}  cpu worker ${pct(m.cpu.worker)} haproxy ${pct(m.cpu.haproxy)} mariadbd ${pct(m.cpu.mariadb)}`
            + ` bench ${pct(m.cpu.loadGenerator)}`);
        }
      }
      if (options.post) {
        for (const side of SIDES) deleted.push({ rep, side, rows: await deletePosted(targets[side]) });
        // Let InnoDB purge the deleted rows before the next repetition's reads.
        await new Promise((resolve) => setTimeout(resolve, 1000));
      }
    }

    const restarted: string[] = [];
    for (const side of SIDES) {
      for (const p of await listProcesses(stacks[side]!.env)) if (p.restarts > 0) restarted.push(p.name);
    }
    if (restarted.length > 0) console.warn(`WARNING: restarted during the run: ${restarted.join(', ')}`);

    // ---- Summaries and ratios (galera / single, each pair from the same repetition).
    const of = (side: Side, scenario: ScenarioKey) => measurements.filter((m) => m.side === side && m.scenario === scenario);
    const summaries = scenarios.flatMap((scenario) => SIDES.map((side) => {
      const ms = of(side, scenario);
      const cpuPct = (k: keyof Cpu) => spread(ms.map((m) => (100 * m.cpu[k]) / m.wallSeconds)).median;
      const cpuUs = (k: keyof Cpu) => spread(ms.map((m) => (1e6 * m.cpu[k]) / Math.max(1, m.requests))).median;
      const keys: (keyof Cpu)[] = ['worker', 'haproxy', 'mariadb', 'loadGenerator'];
      return {
        scenario, side, label: LABELS[scenario],
        rps: spread(ms.map((m) => m.rps)), p50: spread(ms.map((m) => m.p50)), p99: spread(ms.map((m) => m.p99)),
        errors: ms.reduce((s, m) => s + m.errors, 0), non2xx: ms.reduce((s, m) => s + m.non2xx, 0),
        cpuPct: Object.fromEntries(keys.map((k) => [k, cpuPct(k)])) as unknown as Cpu,
        cpuUsPerReq: Object.fromEntries(keys.map((k) => [k, cpuUs(k)])) as unknown as Cpu,
      };
    }));
    const ratioOf = (scenario: ScenarioKey, field: 'rps' | 'p50' | 'p99'): { perRep: number[] } & Spread => {
      const perRep: number[] = [];
      for (let rep = 1; rep <= options.reps; rep++) {
        const g = measurements.find((m) => m.rep === rep && m.side === 'galera' && m.scenario === scenario);
        const s = measurements.find((m) => m.rep === rep && m.side === 'single' && m.scenario === scenario);
        if (g && s && s[field] > 0) perRep.push(g[field] / s[field]);
      }
      return { perRep, ...spread(perRep) };
    };
    const ratios = scenarios.map((scenario) => ({
      scenario, label: LABELS[scenario], rps: ratioOf(scenario, 'rps'), p50: ratioOf(scenario, 'p50'), p99: ratioOf(scenario, 'p99'),
    }));
    // How close one worker gets to its own limit, on each side.
    const workerOverLimit = SIDES.map((side) => {
      const perRep: number[] = [];
      for (let rep = 1; rep <= options.reps; rep++) {
        const w = measurements.find((m) => m.rep === rep && m.side === side && m.scenario === 'get-todos-8');
        const l = measurements.find((m) => m.rep === rep && m.side === side && m.scenario === 'limit');
        if (w && l && l.rps > 0) perRep.push(w.rps / l.rps);
      }
      return { side, perRep, ...spread(perRep) };
    });

    // ---- Output.
    const date = new Date().toISOString().slice(0, 10);
    const loadAfter = os.loadavg();
    const machine = { cores: os.cpus().length, cpu: os.cpus()[0]?.model, node: process.version, platform: `${os.type()} ${os.release()}` };
    const benchSeconds = (Date.now() - benchStarted) / 1000;
    const md: string[] = [];
    md.push(`${machine.cores} cores, load average before ${loadBefore.map((l) => l.toFixed(2)).join(' ')}, after ${loadAfter.map((l) => l.toFixed(2)).join(' ')}; `
      + `${options.reps} repetitions, ${options.warmupSeconds} s warm-up + ${options.seconds} s each; stacks up in `
      + `${stacks.single.startSeconds.toFixed(1)} s (single) and ${stacks.galera.startSeconds.toFixed(1)} s (galera); whole run ${benchSeconds.toFixed(0)} s.`, '');
    md.push('| scenario | server | req/s (q/s) | p50 ms | p99 ms | errors / non-2xx | worker CPU | HAProxy CPU | mariadbd CPU (all nodes) | bench CPU |');
    md.push('|---|---|---|---|---|---|---|---|---|---|');
    for (const s of summaries) {
      const digits = s.scenario === 'limit' ? 3 : 0;
      const c = (k: keyof Cpu) => `${fmt(s.cpuPct[k])}% (${fmt(s.cpuUsPerReq[k])})`;
      md.push(`| ${s.label} | ${s.side} | ${fmtSpread(s.rps)} | ${fmtSpread(s.p50, digits)} | ${fmtSpread(s.p99, digits)} | ${s.errors} / ${s.non2xx} `
        + `| ${s.scenario === 'limit' ? '' : c('worker')} | ${c('haproxy')} | ${c('mariadb')} | ${c('loadGenerator')} |`);
    }
    md.push('', '| galera / single | req/s | p50 | p99 |', '|---|---|---|---|');
    const r = (x: Spread) => `**${x.median.toFixed(2)}x** (${x.min.toFixed(2)}–${x.max.toFixed(2)})`;
    for (const x of ratios) md.push(`| ${x.label} | ${r(x.rps)} | ${r(x.p50)} | ${r(x.p99)} |`);
    md.push('', `Worker / limit (GET /todos at 8 / the limit): ${workerOverLimit.map((w) => `${w.side} ${r(w)}`).join(', ')}.`);
    if (restarted.length > 0) md.push('', `**Restarted during the run:** ${restarted.join(', ')}.`);

    const resultsDir = path.join(PROJECT_ROOT, 'bench', 'results');
    fs.mkdirSync(resultsDir, { recursive: true });
    const file = path.join(resultsDir, `galera-${date}.json`);
    fs.writeFileSync(file, `${JSON.stringify({
      bench: 'bench:galera', date: new Date().toISOString(), machine, loadAverage: { before: loadBefore, after: loadAfter },
      options, sql: LIST_TODOS_SQL, postBody: POST_BODY, env: common,
      servers: { single: targets.single.server, galera: targets.galera.server },
      galeraBasePorts: base,
      timings: { singleStartSeconds: stacks.single.startSeconds, galeraStartSeconds: stacks.galera.startSeconds, benchSeconds },
      restartedDuringRun: restarted, deletedAfterPosts: deleted,
      summaries, ratios, workerOverLimit, measurements,
    }, null, 2)}\n`);
    console.log(`\n${md.join('\n')}\n`);
    console.log(`Wrote ${path.relative(PROJECT_ROOT, file)} in ${benchSeconds.toFixed(0)} s.`);
  } finally {
    // Both stacks, whatever happened; Galera's nodes leave the cluster cleanly on pm2's SIGTERM.
    await Promise.allSettled(SIDES.map((side) => stacks[side]?.cleanup()));
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  },
);

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
// bench/results/galera-<date>.{md,svg,json}. Both stacks are stopped at the end, on failure and Ctrl-C too.
// Usage: npm run bench:galera [-- --quick] [--seconds 5 --warmup 1 --reps 3 --no-post]
import { loadDotEnv } from '../cluster/env-file';
import fs from 'node:fs';
import path from 'node:path';
import mysql from 'mysql2/promise';
import { workerAppName } from '../cluster/ecosystem';
import { freeGaleraBasePorts } from '../cluster/database/galera/free-base-ports';
import { listProcesses } from '../cluster/pm2';
import { renderChart } from './harness/chart';
import { fmtRatio, summaryTable, table } from './harness/markdown';
import { httpLoad, limitLoad, type Watch } from './harness/measure';
import { childPids } from './harness/proc';
import { CHART_FILE, runInfo, runParagraph, writeResults } from './harness/results';
import {
  parseRunOptions,
  ratio,
  runRepetitions,
  summarize,
  type Order,
  type Ratio,
  type Scenario,
} from './harness/run';
import { LIST_TODOS_SQL } from './limit';
import { expectStatus, processByName, startThrowawayStack, type ThrowawayStack } from './throwaway-stack';

// The project's .env, as every command reads it (a shell value wins).
loadDotEnv();

type Side = 'single' | 'galera';
const SIDES: Side[] = ['single', 'galera'];
type ScenarioKey = 'limit' | 'get-todos-8' | 'post-todos-8';

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
    host: '127.0.0.1',
    port: settings.haproxy.port,
    user: settings.database.appUser,
    password: settings.database.appPassword,
    database: 'test',
    charset: 'utf8mb4_unicode_ci',
  });
}

/** What HAProxy's MySQL frontend reaches, as the app user sees it. */
async function describeServer(stack: ThrowawayStack): Promise<{ server: Target['server']; maxId: number }> {
  const connection = await appConnection(stack);
  try {
    const [vars] = await connection.query<mysql.RowDataPacket[]>(
      'SELECT @@version AS version, @@wsrep_on AS wsrep_on, @@wsrep_node_name AS wsrep_node_name, @@wsrep_sync_wait AS wsrep_sync_wait, ' +
        '@@innodb_flush_log_at_trx_commit AS innodb_flush_log_at_trx_commit',
    );
    const [status] = await connection.query<mysql.RowDataPacket[]>(
      "SHOW GLOBAL STATUS WHERE Variable_name IN ('wsrep_cluster_size', 'wsrep_local_state_comment', 'wsrep_provider_version')",
    );
    const [max] = await connection.query<mysql.RowDataPacket[]>(
      'SELECT COALESCE(MAX(id), 0) AS max_id, COUNT(*) AS n FROM todos',
    );
    const server: Target['server'] = {
      ...(vars[0] as Record<string, string | number | null>),
      rows: Number(max[0]!.n),
    };
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
    const [result] = await connection.query<mysql.ResultSetHeader>('DELETE FROM todos WHERE id > ?', [
      target.baselineMaxId,
    ]);
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
  if (mariadbPids.length !== expected)
    throw new Error(`${side}: found ${mariadbPids.length} mariadbd processes, expected ${expected}`);
  await expectStatus(`http://127.0.0.1:${workerPort}/todos`);
  const { server, maxId } = await describeServer(stack);
  if (side === 'galera' && (server.wsrep_on !== 1 || server.wsrep_cluster_size !== '3')) {
    throw new Error(
      `galera: HAProxy reaches a node with wsrep_on=${server.wsrep_on}, cluster size ${server.wsrep_cluster_size}`,
    );
  }
  return {
    side,
    stack,
    workerPort,
    workerPid,
    haproxyPids: [haproxyMaster, ...childPids(haproxyMaster)],
    mariadbPids,
    baselineMaxId: maxId,
    server,
  };
}

const POST_BODY = JSON.stringify({ item: 'bench:galera', status: 'pending' });

const LABELS: Record<ScenarioKey, string> = {
  limit: 'limit via HAProxy: `list_todos`, 1 connection',
  'get-todos-8': 'one worker: GET /todos, 8 connections',
  'post-todos-8': 'one worker: POST /todos, 8 connections',
};

const keyOf = (scenario: ScenarioKey, side: Side) => `${scenario} ${side}`;

function scenarioOf(
  target: Target,
  scenario: ScenarioKey,
  options: { seconds: number; warmupSeconds: number },
): Scenario {
  const { settings } = target.stack;
  // mariadb is every mariadbd of the stack (3 for Galera).
  const watch: Watch = { worker: [target.workerPid], haproxy: target.haproxyPids, mariadb: target.mariadbPids };
  const url = `http://127.0.0.1:${target.workerPort}/todos`;
  const run =
    scenario === 'limit'
      ? () =>
          limitLoad(
            {
              target: { host: '127.0.0.1', port: settings.haproxy.port },
              user: settings.database.appUser,
              password: settings.database.appPassword,
              database: 'test',
              seconds: options.seconds,
              warmupSeconds: options.warmupSeconds,
            },
            { haproxy: target.haproxyPids, mariadb: target.mariadbPids },
          )
      : () =>
          httpLoad({
            url,
            connections: 8,
            seconds: options.seconds,
            warmupSeconds: options.warmupSeconds,
            watch,
            rssOf: ['worker'],
            ...(scenario === 'post-todos-8'
              ? { method: 'POST' as const, headers: { 'content-type': 'application/json' }, body: POST_BODY }
              : {}),
          });
  return { key: keyOf(scenario, target.side), label: `${target.side}: ${LABELS[scenario]}`, run };
}

/** Each scenario on both stacks back to back; which stack goes first alternates with the repetition. */
const alternatingPairs: Order = (rep, scenarios) => {
  const order: Scenario[] = [];
  for (let i = 0; i < scenarios.length; i += 2)
    order.push(...(rep % 2 === 1 ? [scenarios[i]!, scenarios[i + 1]!] : [scenarios[i + 1]!, scenarios[i]!]));
  return order;
};

async function main(): Promise<void> {
  const started = Date.now();
  const options = parseRunOptions(process.argv.slice(2), { seconds: 5, warmup: 1, reps: 3 }, { 'no-post': false });
  const info = runInfo();
  const common = {
    // 64 is not measured here, but keep bench:tier's settings so the numbers compare with its /todos rows.
    DB_QUEUE_LIMIT: '1000',
    DB_ACQUIRE_TIMEOUT_MS: '60000',
  };
  const stacks: Partial<Record<Side, ThrowawayStack>> = {};
  try {
    stacks.single = await startThrowawayStack({ stackName: 'khgsingle', workers: 1, extraEnv: common });
    const base = await freeGaleraBasePorts();
    stacks.galera = await startThrowawayStack({
      stackName: 'khggalera',
      workers: 1,
      extraEnv: {
        ...common,
        DB_TOPOLOGY: 'galera',
        GALERA_NODES: '3',
        GALERA_CLIENT_PORT: String(base.client),
        GALERA_GROUP_PORT: String(base.group),
        GALERA_IST_PORT: String(base.ist),
        GALERA_SST_PORT: String(base.sst),
        GALERA_AGENT_PORT: String(base.agent),
        START_TIMEOUT_MS: '150000',
      },
    });
    const targets: Record<Side, Target> = {
      single: await prepareTarget('single', stacks.single),
      galera: await prepareTarget('galera', stacks.galera),
    };
    for (const side of SIDES) console.log(`${side}: ${JSON.stringify(targets[side].server)}`);

    const keys: ScenarioKey[] = options['no-post']
      ? ['limit', 'get-todos-8']
      : ['limit', 'get-todos-8', 'post-todos-8'];
    const scenarios = keys.flatMap((key) => SIDES.map((side) => scenarioOf(targets[side], key, options)));
    const deleted: { rep: number; side: Side; rows: number }[] = [];
    console.log(
      `${scenarios.length} scenarios x ${options.reps} repetitions: about ` +
        `${((scenarios.length * options.reps * (options.seconds + options.warmupSeconds)) / 60).toFixed(1)} min of load.`,
    );
    const measurements = await runRepetitions({
      scenarios,
      reps: options.reps,
      order: alternatingPairs,
      afterRep: async (rep) => {
        if (options['no-post']) return;
        for (const side of SIDES) deleted.push({ rep, side, rows: await deletePosted(targets[side]) });
        // Let InnoDB purge the deleted rows before the next repetition's reads.
        await new Promise((resolve) => setTimeout(resolve, 1000));
      },
    });

    const restarted: string[] = [];
    for (const side of SIDES) {
      for (const p of await listProcesses(stacks[side]!.env)) if (p.restarts > 0) restarted.push(p.name);
    }
    if (restarted.length > 0) console.warn(`WARNING: restarted during the run: ${restarted.join(', ')}`);

    const summaries = summarize(scenarios, measurements);
    const ratios: Ratio[] = keys.flatMap((key) =>
      (['rps', 'p50', 'p99'] as const).map((field) =>
        ratio(
          measurements,
          `galera / single, ${LABELS[key]}, ${field === 'rps' ? 'req/s' : field}`,
          keyOf(key, 'galera'),
          keyOf(key, 'single'),
          { field },
        ),
      ),
    );
    const workerOverLimit = SIDES.map((side) =>
      ratio(measurements, `${side}: GET /todos at 8 / the limit`, keyOf('get-todos-8', side), keyOf('limit', side)),
    );

    const wallSeconds = (Date.now() - started) / 1000;
    const summary = (key: string) => summaries.find((s) => s.key === key)!;
    const svg = renderChart({
      title: 'Galera (3 nodes) beside the single server (req/s, median; bar: min–max)',
      xLabel: 'stack',
      xs: [1, 2],
      panels: keys.map((key) => ({
        title: LABELS[key].replace(/`/g, ''),
        yLabel: key === 'limit' ? 'statements/s' : 'req/s',
        series: [
          {
            label: '1: single, 2: galera',
            color: '#1f77b4',
            points: SIDES.map((side, i) => {
              const s = summary(keyOf(key, side));
              return { x: i + 1, y: s.rps.median, low: s.rps.min, high: s.rps.max };
            }),
          },
        ],
      })),
      note: `${info.date}, ${info.machine.cores} cores, Node ${info.node}, commit ${info.commit.slice(0, 12)}, ${options.reps} repetition(s) of ${options.seconds} s`,
    });
    const name = 'galera';
    const md = [
      `# npm run bench:galera, ${info.date}${options.quick ? ' (quick)' : ''}`,
      '',
      runParagraph(info, options, wallSeconds),
      '',
      `Stacks up in ${stacks.single.startSeconds.toFixed(1)} s (single) and ${stacks.galera.startSeconds.toFixed(1)} s (galera). ` +
        'DB_QUEUE_LIMIT=1000, DB_ACQUIRE_TIMEOUT_MS=60000. mariadbd CPU: every node of the stack.',
      '',
      `![galera](${CHART_FILE})`,
      '',
      ...summaryTable(summaries, {
        cpu: [
          { name: 'worker', header: 'worker CPU' },
          { name: 'haproxy', header: 'HAProxy CPU' },
          { name: 'mariadb', header: 'mariadbd CPU' },
          { name: 'bench', header: 'bench CPU' },
        ],
        rss: [{ name: 'worker', header: 'worker peak RSS MB' }],
        latencyDigits: (s) => (s.key.startsWith('limit') ? 3 : 1),
      }),
      '',
      ...table(
        ['ratio, same repetition', 'median (min–max)'],
        [...ratios, ...workerOverLimit].map((r) => [r.name, fmtRatio(r)]),
      ),
    ];
    if (restarted.length > 0) md.push('', `**Restarted during the run:** ${restarted.join(', ')}.`);
    const written = writeResults(name, info, options.quick, {
      markdown: md,
      svg,
      json: {
        options,
        wallSeconds,
        sql: LIST_TODOS_SQL,
        postBody: POST_BODY,
        env: common,
        galeraBasePorts: base,
        servers: { single: targets.single.server, galera: targets.galera.server },
        stackStartSeconds: { single: stacks.single.startSeconds, galera: stacks.galera.startSeconds },
        restartedDuringRun: restarted,
        deletedAfterPosts: deleted,
        summaries,
        ratios,
        workerOverLimit,
      },
    });
    console.log(`\n${md.join('\n')}\n\nWrote ${written.map((f) => path.relative(process.cwd(), f)).join(', ')}.`);
  } finally {
    // Both stacks, whatever happened; Galera's nodes leave the cluster cleanly on pm2's SIGTERM.
    await Promise.allSettled(SIDES.map((side) => stacks[side]?.cleanup()));
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error instanceof Error ? (error.stack ?? error.message) : error);
    process.exit(1);
  },
);

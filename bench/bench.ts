// `npm run bench`: ours beside a plain Koa app and beside the one-connection limit, in one run (issue 16,
// item 7). One throwaway stack started as `npm start` starts it (bench/throwaway-stack.ts), with one
// worker under pm2 ("ours"); the peer (bench/peer/app.ts: Koa, @koa/router, a mysql2 pool of one
// connection to the same HAProxy, prom-client) as a plain `node` process; the limit (bench/limit.ts): the
// same statement back to back on one mysql2 connection through the same HAProxy. Three phases of data:
//   1. the seed's 2 rows: GET / and GET /todos;
//   2. 10,000 rows (INSERT ... SELECT FROM seq_1_to_N): GET /todos/:id with a random id per request;
//   3. 1,000,000 rows: pages, GET /todos?limit=100&after=<random> (--page-path), skipped with --no-pages
//      or when ours does not page (it then answers the whole table: the run says so);
// each at 1, 8 and 64 connections, interleaved per repetition (ours, peer, ... then the limit). Settings
// as shipped (queue limits included: refusals are counted, by status). Writes
// bench/results/bench-<date>.{md,svg,json}.
// Usage: npm run bench [-- --quick] [--seconds 5 --warmup 1 --reps 3 --no-pages --page-path '/todos?limit=100&after={after}']
import { loadDotEnv } from '../cluster/env-file';
import path from 'node:path';
import { workerAppName } from '../cluster/ecosystem';
import { freePort } from '../cluster/free-port';
import { listProcesses } from '../cluster/pm2';
import { renderChart, type ChartPanel } from './harness/chart';
import { fillTodos } from './harness/fill-todos';
import { fmtRatio, ratioTable, summaryTable, table } from './harness/markdown';
import { httpLoad, limitLoad, type Watch } from './harness/measure';
import { childPids, rssMb } from './harness/proc';
import { CHART_FILE, runInfo, runParagraph, writeResults } from './harness/results';
import {
  parseRunOptions,
  ratio,
  runRepetitions,
  summarize,
  type Measurement,
  type Ratio,
  type Scenario,
} from './harness/run';
import { fmt } from './harness/stats';
import { GET_TODO_SQL, PAGE_SQL } from './limit';
import { peerDbOf, startPeer, type Peer } from './peer/start';
import { expectStatus, processByName, startThrowawayStack } from './throwaway-stack';

// The project's .env, as every command reads it (a shell value wins).
loadDotEnv();

const STACK_NAME = 'khbench';
const CONNECTIONS = [1, 8, 64];
const ID_ROWS = 10_000;
const PAGE_ROWS = 1_000_000;

type Side = 'ours' | 'peer';
type PathKey = 'root' | 'todos' | 'id' | 'page';

const PATH_LABELS: Record<PathKey, string> = {
  root: 'GET /',
  todos: 'GET /todos (2 rows)',
  id: `GET /todos/:id (random of ${ID_ROWS.toLocaleString('en')})`,
  page: `pages of GET /todos (${PAGE_ROWS.toLocaleString('en')} rows)`,
};

const keyOf = (side: Side | 'limit', p: PathKey, connections?: number) =>
  `${side}-${p}${connections === undefined ? '' : `-${connections}`}`;

interface Phase {
  name: string;
  paths: PathKey[];
  rows: number;
  /** Why it did not run, if it did not. */
  skipped?: string;
  setupSeconds?: number;
}

/** Why ours cannot be measured on pages, or undefined if it pages: `path` must answer 200 with at most `size` rows. */
async function pagingProblem(url: string, size: number): Promise<string | undefined> {
  const reply = await fetch(url, { signal: AbortSignal.timeout(30_000) });
  const text = await reply.text();
  if (reply.status !== 200) {
    let message = text.slice(0, 160).trim();
    try {
      message = String((JSON.parse(text) as { message?: unknown }).message ?? message);
    } catch {
      // not JSON: the text itself
    }
    return `ours answered ${url.replace(/^http:\/\/[^/]+/, '')} with ${reply.status}: ${message}`;
  }
  const rows = Object.keys(JSON.parse(text) as object).length;
  return rows > size ? `ours answered ${rows} rows to a page of ${size}: it does not page` : undefined;
}

const randomInt = (low: number, high: number) => low + Math.floor(Math.random() * (high - low + 1));

async function main(): Promise<void> {
  const started = Date.now();
  const options = parseRunOptions(
    process.argv.slice(2),
    { seconds: 5, warmup: 1, reps: 3 },
    { 'no-pages': false, 'page-path': '/todos?limit={limit}&after={after}', 'page-size': 100 },
  );
  const pageSize = Math.round(options['page-size']);
  const pagePath = () =>
    options['page-path']
      .replace('{limit}', String(pageSize))
      .replace('{after}', String(randomInt(0, PAGE_ROWS - pageSize)));
  const info = runInfo();
  if (options.reps < 3 && !options.quick) console.warn('Fewer than 3 repetitions: the ranges mean little.');

  const stack = await startThrowawayStack({ stackName: STACK_NAME, workers: 1 });
  let peer: Peer | undefined;
  try {
    const { settings, env } = stack;
    const oursPort = stack.workerPorts[0]!;
    peer = await startPeer({
      dir: path.join(stack.home, 'peer'),
      port: await freePort(),
      db: peerDbOf(settings),
    });
    const processes = await listProcesses(env);
    const oursName = workerAppName(settings, oursPort);
    const haproxyMaster = processByName(processes, `${STACK_NAME}-haproxy`).pid;
    const mariadbWrapper = processByName(processes, `${STACK_NAME}-mariadb`).pid;
    const shared: Watch = {
      haproxy: [haproxyMaster, ...childPids(haproxyMaster)],
      mariadb: [mariadbWrapper, ...childPids(mariadbWrapper)],
      pm2: [stack.godPid],
    };
    const apps: Record<Side, { url: string; watch: Watch; label: string }> = {
      ours: {
        url: `http://127.0.0.1:${oursPort}`,
        watch: { worker: [processByName(processes, oursName).pid], ...shared },
        label: 'ours (a worker under pm2)',
      },
      peer: { url: peer.url, watch: { worker: [peer.pid], ...shared }, label: 'peer (plain Koa app)' },
    };
    for (const side of ['ours', 'peer'] as const)
      for (const p of ['/', '/todos', '/todos/1']) await expectStatus(`${apps[side].url}${p}`);
    const rssOf = () => ({ ours: rssMb(apps.ours.watch.worker![0]!), peer: rssMb(peer!.pid) });
    const rssAtStart = rssOf();

    const limitTarget = {
      target: { host: '127.0.0.1', port: settings.haproxy.port },
      user: settings.database.appUser,
      password: settings.database.appPassword,
      database: 'test',
    };
    const limitSql: Record<Exclude<PathKey, 'root'>, { sql: string; params: () => unknown[]; label: string }> = {
      // The worker's GET /todos statement: its first page (default limit 100, plus the row that says a next page follows).
      todos: { sql: PAGE_SQL, params: () => [0, 101], label: 'list_todos, first page' },
      id: { sql: GET_TODO_SQL, params: () => [randomInt(1, ID_ROWS)], label: 'get_todo, random id' },
      page: {
        sql: PAGE_SQL,
        params: () => [randomInt(0, PAGE_ROWS - pageSize), pageSize + 1],
        label: `a page of ${pageSize}, random cursor`,
      },
    };
    const httpPath: Record<PathKey, { path?: string; next?: () => string }> = {
      root: { path: '/' },
      todos: { path: '/todos' },
      id: { next: () => `/todos/${randomInt(1, ID_ROWS)}` },
      page: { next: pagePath },
    };

    /** ours and peer at each number of connections, then the limit once: one repetition of a path. */
    const scenariosOf = (p: PathKey): Scenario[] => {
      const list: Scenario[] = [];
      for (const connections of CONNECTIONS) {
        for (const side of ['ours', 'peer'] as const) {
          list.push({
            key: keyOf(side, p, connections),
            label: `${side} ${PATH_LABELS[p]}, ${connections} conn.`,
            run: () =>
              httpLoad({
                url: `${apps[side].url}${httpPath[p].path ?? '/'}`,
                path: httpPath[p].next,
                connections,
                seconds: options.seconds,
                warmupSeconds: options.warmupSeconds,
                watch: apps[side].watch,
                rssOf: ['worker'],
              }),
          });
        }
      }
      if (p !== 'root') {
        const l = limitSql[p];
        list.push({
          key: keyOf('limit', p),
          label: `limit ${l.label}`,
          run: () =>
            limitLoad(
              {
                ...limitTarget,
                sql: l.sql,
                params: l.params,
                seconds: options.seconds,
                warmupSeconds: options.warmupSeconds,
              },
              { haproxy: shared.haproxy!, mariadb: shared.mariadb! },
            ),
        });
      }
      return list;
    };

    const phases: Phase[] = [
      { name: 'the seed: 2 rows', paths: ['root', 'todos'], rows: 2 },
      { name: `${ID_ROWS.toLocaleString('en')} rows`, paths: ['id'], rows: ID_ROWS },
      { name: `${PAGE_ROWS.toLocaleString('en')} rows`, paths: ['page'], rows: PAGE_ROWS },
    ];
    const perRep = (p: PathKey) => CONNECTIONS.length * 2 + (p === 'root' ? 0 : 1);
    const loadSeconds =
      phases.flatMap((ph) => ph.paths).reduce((s, p) => s + perRep(p), 0) *
      options.reps *
      (options.seconds + options.warmupSeconds);
    console.log(
      `About ${(loadSeconds / 60).toFixed(1)} min of load, plus filling ${PAGE_ROWS.toLocaleString('en')} rows.`,
    );

    const measurements: Measurement[] = [];
    const scenarios: Scenario[] = [];
    for (const phase of phases) {
      if (phase.paths.includes('page')) {
        if (options['no-pages']) phase.skipped = 'skipped with --no-pages';
        // Asked with 10,000 rows, before the million: a server without pages would answer the whole table.
        else
          phase.skipped = await pagingProblem(
            `${apps.ours.url}${pagePath().replace(/after=\d+/, 'after=0')}`,
            pageSize,
          );
        if (phase.skipped) {
          console.log(`\nPhase ${phase.name} not measured: ${phase.skipped.replace(/\.$/, '')}.`);
          continue;
        }
      }
      phase.setupSeconds = await fillTodos(stack, phase.rows);
      console.log(`\nPhase ${phase.name} (filled in ${phase.setupSeconds.toFixed(1)} s):`);
      const phaseScenarios = phase.paths.flatMap(scenariosOf);
      scenarios.push(...phaseScenarios);
      measurements.push(...(await runRepetitions({ scenarios: phaseScenarios, reps: options.reps })));
    }

    const rssAtEnd = rssOf();
    const after = await listProcesses(env);
    const restarted = after
      .filter((p) => {
        const was = processes.find((q) => q.name === p.name);
        return !was || was.pid !== p.pid || was.restarts !== p.restarts;
      })
      .map((p) => p.name);
    if (restarted.length > 0) console.warn(`WARNING: restarted during the run: ${restarted.join(', ')}`);

    // ---- Summaries, ratios, chart, files.
    const summaries = summarize(scenarios, measurements);
    const measured = new Set(summaries.map((s) => s.key));
    const ratios: Ratio[] = [];
    const addRatio = (name: string, numerator: string, denominator: string, target?: number) => {
      if (measured.has(numerator) && measured.has(denominator))
        ratios.push(ratio(measurements, name, numerator, denominator, { target }));
    };
    for (const p of ['root', 'todos', 'id', 'page'] as const) {
      for (const c of CONNECTIONS) {
        const target = c !== 8 ? undefined : p === 'root' ? 0.8 : p === 'page' ? undefined : 1.5;
        addRatio(`ours / peer, ${PATH_LABELS[p]}, ${c} conn.`, keyOf('ours', p, c), keyOf('peer', p, c), target);
      }
      if (p === 'root') continue;
      for (const c of CONNECTIONS) {
        addRatio(
          `ours / limit, ${PATH_LABELS[p]}, ${c} conn.`,
          keyOf('ours', p, c),
          keyOf('limit', p),
          c === 8 && p !== 'page' ? 1.5 : undefined,
        );
      }
      addRatio(`peer / limit, ${PATH_LABELS[p]}, 8 conn.`, keyOf('peer', p, 8), keyOf('limit', p));
    }

    const summary = (key: string) => summaries.find((s) => s.key === key);
    const panels: ChartPanel[] = (['root', 'todos', 'id', 'page'] as const)
      .filter((p) => measured.has(keyOf('ours', p, 8)))
      .map((p) => ({
        title: PATH_LABELS[p].replace(/ \(random of .*\)/, ' (random id)'),
        yLabel: 'req/s (limit: statements/s)',
        series: (['ours', 'peer'] as const).map((side) => ({
          label: side === 'ours' ? 'ours: one worker under pm2' : 'peer: a plain Koa app',
          color: side === 'ours' ? '#1f77b4' : '#2ca02c',
          points: CONNECTIONS.flatMap((c) => {
            const s = summary(keyOf(side, p, c));
            return s ? [{ x: c, y: s.rps.median, low: s.rps.min, high: s.rps.max }] : [];
          }),
        })),
        lines: summary(keyOf('limit', p))
          ? [
              {
                label: 'the limit: the statement back to back on one connection',
                y: summary(keyOf('limit', p))!.rps.median,
                color: '#d62728',
              },
            ]
          : [],
      }));
    const wallSeconds = (Date.now() - started) / 1000;
    const name = 'bench';
    const svg = renderChart({
      title: 'ours, the peer and the one-connection limit (req/s, median; bar: min–max)',
      xLabel: 'connections',
      xs: CONNECTIONS,
      panels,
      note: `${info.date}, ${info.machine.cores} cores, Node ${info.node}, commit ${info.commit.slice(0, 12)}, ${options.reps} repetition(s) of ${options.seconds} s${options.quick ? ', --quick' : ''}`,
    });

    const md: string[] = [`# npm run bench, ${info.date}${options.quick ? ' (quick)' : ''}`, ''];
    md.push(runParagraph(info, options, wallSeconds), '');
    md.push(
      `Stack start ${stack.startSeconds.toFixed(1)} s; settings as shipped (DB_QUEUE_LIMIT and the rest at their defaults). ` +
        'ours: one worker of the stack under pm2; peer: bench/peer/app.ts as `node app.js`; both reach MariaDB through the same HAProxy with a pool of one connection. ' +
        'The limit: the same statement as a prepared statement back to back on one mysql2 connection through that HAProxy. ' +
        'HTTP load: autocannon on loopback, keep-alive, in the bench process.',
      '',
    );
    for (const phase of phases) {
      md.push(
        `- ${phase.name}: ${phase.skipped ? `**not measured: ${phase.skipped}**` : `filled in ${fmt(phase.setupSeconds ?? 0, 1)} s`}`,
      );
    }
    md.push('', `![ours, the peer and the limit](${CHART_FILE})`, '');
    md.push(
      'req/s, p50, p99: median (min–max) over the repetitions. CPU: median % of one core (µs per request); "app" is the worker or the peer, ' +
        '"bench" the load generator. Peak RSS: of the app, sampled every 200 ms.',
      '',
    );
    md.push(
      ...summaryTable(summaries, {
        cpu: [
          { name: 'worker', header: 'app CPU' },
          { name: 'haproxy', header: 'HAProxy CPU' },
          { name: 'mariadb', header: 'mariadbd CPU' },
          { name: 'pm2', header: 'pm2 daemon CPU' },
          { name: 'bench', header: 'bench CPU' },
        ],
        rss: [{ name: 'worker', header: 'app peak RSS MB' }],
        latencyDigits: (s) => (s.key.startsWith('limit') ? 2 : 1),
      }),
      '',
    );
    md.push(...ratioTable(ratios), '');
    md.push(
      `RSS (MB) after start and at the end of the run: ours ${fmt(rssAtStart.ours)} and ${fmt(rssAtEnd.ours)}, ` +
        `the peer ${fmt(rssAtStart.peer)} and ${fmt(rssAtEnd.peer)}.`,
      '',
    );
    if (restarted.length > 0) md.push(`**Restarted during the run:** ${restarted.join(', ')}.`, '');
    const targets = ratios.filter((r) => r.target !== undefined);
    md.push(
      'Targets (issue 16):',
      '',
      ...table(
        ['target', 'measured'],
        targets.map((r) => [`${r.name} ≥ ${r.target}x`, fmtRatio(r)]),
      ),
    );

    const written = writeResults(name, info, options.quick, {
      markdown: md,
      svg,
      json: {
        options,
        wallSeconds,
        stackStartSeconds: stack.startSeconds,
        connections: CONNECTIONS,
        sql: { todos: limitSql.todos.sql, id: limitSql.id.sql, page: limitSql.page.sql },
        phases,
        rssMb: { atStart: rssAtStart, atEnd: rssAtEnd },
        restartedDuringRun: restarted,
        summaries,
        ratios,
      },
    });
    console.log(
      `\n${md.join('\n')}\n\nWrote ${written.map((f) => path.relative(process.cwd(), f)).join(', ')} in ${Math.round(wallSeconds)} s.`,
    );
  } finally {
    await peer?.stop();
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

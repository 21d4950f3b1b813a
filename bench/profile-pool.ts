// Scratch measurement for issue 9 (one worker against the one-connection limit), not the bench:
// interleaved reps of (a) the limit: one mysql2 connection running the /todos query back to back through
// HAProxy, (b) one worker's GET /todos at c=8, (c) GET / (no database). Usage:
//   tsx bench/profile-pool.ts [seconds] [reps]   env: WORKER_ENV='{"DB_READ_BATCHING":"1"}' CPU_PROF=dir TRACE=file
import { execSync, fork, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import autocannon from 'autocannon';
import mysql from 'mysql2';
import { freePort } from '../test/support/free-port';
import { startTestStack } from '../test/support/stack';

const SECONDS = Number(process.argv[2] ?? 5);
const REPS = Number(process.argv[3] ?? 3);
const SQL = 'SELECT id, item, status FROM todos ORDER BY id';

function limit(options: mysql.ConnectionOptions, seconds: number): Promise<number> {
  const conn = mysql.createConnection(options);
  return new Promise((resolve, reject) => {
    let n = 0;
    const end = performance.now() + seconds * 1000;
    const started = performance.now();
    const next = () => conn.execute(SQL, [], (error) => {
      if (error) return reject(error);
      n += 1;
      if (performance.now() < end) return next();
      conn.end();
      resolve(n / ((performance.now() - started) / 1000));
    });
    next();
  });
}

async function startWorker(env: Record<string, string>): Promise<ChildProcess> {
  const execArgv = ['--require', require.resolve('tsx/cjs')];
  if (process.env.CPU_PROF) execArgv.push('--cpu-prof', `--cpu-prof-dir=${process.env.CPU_PROF}`);
  if (process.env.TRACE) execArgv.push('--require', process.env.TRACE);
  const child = fork(path.join(__dirname, '..', 'server', 'main.ts'), [], { execArgv, env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  await new Promise<void>((resolve, reject) => {
    child.on('message', (m) => m === 'ready' && resolve());
    child.once('exit', (code) => reject(new Error(`worker exited ${code}`)));
  });
  return child;
}

async function rps(url: string): Promise<{ rps: number; non2xx: number }> {
  const r = await autocannon({ url, connections: 8, duration: SECONDS });
  return { rps: r.requests.total / SECONDS, non2xx: r.non2xx + r.errors };
}

/** User + system CPU seconds a process has used (Linux /proc). */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

function machineBusy(): { busy: number; total: number } {
  const cpu = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.split(/\s+/).slice(1).map(Number);
  const total = cpu.reduce((a, b) => a + b, 0);
  return { busy: total - cpu[3]! - cpu[4]!, total };
}

const median = (xs: number[]) => xs.slice().sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function main(): Promise<void> {
  const stack = await startTestStack({ workers: 0 });
  let child: ChildProcess | undefined;
  try {
    const port = await freePort();
    const extra = JSON.parse(process.env.WORKER_ENV ?? '{}') as Record<string, string>;
    child = await startWorker(stack.workerEnv(port, { DB_QUEUE_LIMIT: '1000', ...extra }));
    const url = `http://127.0.0.1:${port}`;
    const dbOptions = { host: stack.settings.haproxyHost, port: stack.settings.haproxyPort, user: stack.settings.appUser,
      password: stack.settings.appPassword, database: 'test' };
    await limit(dbOptions, 1); await rps(`${url}/todos`); // warm-up
    if (process.env.ONLY_TODOS) {
      const kids = execSync(`ps -o pid=,comm= --ppid ${process.pid}`).toString().trim().split('\n')
        .map((line) => line.trim().split(/\s+/)).map(([pid, comm]) => ({ pid: Number(pid), comm: comm! })).filter((k) => k.comm !== 'ps' && k.comm !== 'sh');
      kids.push({ pid: process.pid, comm: 'bench(autocannon)' });
      const before = kids.map((k) => cpuSeconds(k.pid));
      const machine0 = machineBusy();
      const t = await rps(`${url}/todos`);
      const machine1 = machineBusy();
      console.log(`/todos ${t.rps.toFixed(0)} req/s; CPU, % of one core: ${kids.map((k, i) => `${k.comm} ${((cpuSeconds(k.pid) - before[i]!) / SECONDS * 100).toFixed(0)}`).join(', ')}; `
        + `machine busy ${((machine1.busy - machine0.busy) / (machine1.total - machine0.total) * 100).toFixed(0)}% of all cores`);
      return;
    }
    const rows: { limit: number; todos: number; root: number }[] = [];
    for (let i = 0; i < REPS; i += 1) {
      const l = await limit(dbOptions, SECONDS);
      const t = await rps(`${url}/todos`);
      const r = await rps(`${url}/`);
      if (t.non2xx) console.log(`  /todos non-2xx/errors: ${t.non2xx}`);
      rows.push({ limit: l, todos: t.rps, root: r.rps });
      console.log(`rep ${i + 1}: limit ${l.toFixed(0)} q/s, /todos ${t.rps.toFixed(0)} req/s (${(t.rps / l).toFixed(2)}x), / ${r.rps.toFixed(0)} req/s`);
    }
    const metrics = await (await fetch(`${url}/metrics`)).text();
    for (const line of metrics.split('\n')) if (/^db_(read_batch|statements)[a-z_]*(_sum|_count|_total)?[ {]/.test(line)) console.log(`  ${line}`);
    console.log(`median: limit ${median(rows.map((r) => r.limit)).toFixed(0)}, /todos ${median(rows.map((r) => r.todos)).toFixed(0)}, ratio ${median(rows.map((r) => r.todos / r.limit)).toFixed(2)}x (per-rep ratios ${rows.map((r) => (r.todos / r.limit).toFixed(2)).join(', ')}), / ${median(rows.map((r) => r.root)).toFixed(0)}`);
  } finally {
    if (child) { child.kill('SIGTERM'); await new Promise((r) => child!.once('exit', r)); }
    await stack.stop();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});

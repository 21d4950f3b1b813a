// Two (or more) builds of the worker side by side, loaded at the same time: what one change costs per
// request, on a machine too noisy for one-after-the-other runs. On the shared 2-core machine two identical
// builds measured one after the other differed by 0.66-1.75x per repetition; loaded at once, every side
// gets the same noisy seconds and the per-repetition ratio of two identical builds stayed within
// 0.91-1.11x. Not a result for bench/results: a tool for deciding whether a change pays.
//
// A throwaway stack (as npm start) gives the database and HAProxy; each side is a worker started directly
// with the ecosystem's node args (bench/profile.ts showed pm2 adds nothing per request on a keep-alive
// connection), or the peer (bench/peer/app.ts). A side is `<build>[-nolog]`: build `cur` is dist/,
// any other name is dist/.<name> (e.g. `cp -r dist/server dist/.base/` before a change, then `npm run
// build`); `-nolog` sets ACCESS_LOG=0, `-semi8` --max-semi-space-size=8, `-gcthreads` drops
// --single-threaded-gc. `peer` is the peer.
//
//   npx tsx bench/ab.ts [--sides cur,base,cur-nolog,peer] [--path /] [--reps 8] [--seconds 3]
//     [--connections 3] [--rows 600000] [--sequential] [--cpu-prof]
// `--path '/todos/{id}' --rows 10000`: a random id for every request.
//
// Prints, per repetition, req/s and the worker's CPU per request of each side, then the medians and the
// ratio of each side's CPU per request to the first side's, within each repetition. Also, per request,
// how long the side's main thread waited on the run queue and how often it was preempted: on a small
// machine the tier's processes share the cores, and a write to HAProxy wakes a process that may take
// the writer's CPU (bench/README.md).
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '../cluster/free-port';
import { PROJECT_ROOT } from '../cluster/settings';
import { DIST_DIR } from '../cluster/build/stamp';
import { parseArgs } from './harness/args';
import { fillTodos } from './harness/fill-todos';
import { httpLoad, type Sample } from './harness/measure';
import { mainThreadSched } from './harness/proc';
import { median } from './harness/stats';
import { peerDbOf, startPeer } from './peer/start';
import { startThrowawayStack, variantApp, waitForReady, type ThrowawayStack } from './throwaway-stack';

interface Side {
  name: string;
  url: string;
  pid: number;
}

const options = parseArgs(process.argv.slice(2), {
  sides: 'cur,base',
  path: '/',
  reps: 8,
  seconds: 3,
  connections: 3,
  rows: 0,
  sequential: false,
  'cpu-prof': false,
});

/** The compiled worker of a build: dist/ for `cur`, dist/.<name> for any other. */
function buildMain(build: string): string {
  const dir = build === 'cur' ? DIST_DIR : path.join(DIST_DIR, `.${build}`);
  const main = path.join(PROJECT_ROOT, dir, 'server', 'main.js');
  if (!fs.existsSync(main)) throw new Error(`${main} is missing: copy a build there first (cp -r dist/server ${dir}/)`);
  return main;
}

/** Where --cpu-prof's profiles go: outside the stack's folder, which is removed at the end. */
const profileRoot = options['cpu-prof'] ? fs.mkdtempSync(path.join(os.tmpdir(), 'kh-ab-profiles-')) : '';

/** A preload that turns SIGTERM (how the peer is stopped) into a normal exit, which writes its profile. */
function exitOnTerm(): string {
  const file = path.join(profileRoot, 'exit-on-term.js');
  fs.writeFileSync(file, "process.on('SIGTERM', () => process.exit(0));\n");
  return file;
}

/** Stops a side: SIGINT first (a worker under --cpu-prof writes its profile as it exits), then SIGKILL. */
type Stop = (signal: NodeJS.Signals) => void;

async function startSide(stack: ThrowawayStack, name: string, stops: Stop[]): Promise<Side> {
  const { settings, env } = stack;
  if (name === 'peer') {
    const peer = await startPeer({
      dir: path.join(stack.home, 'peer'),
      port: await freePort(),
      db: peerDbOf(settings),
      // With --cpu-prof the peer writes its profile on a normal exit: SIGTERM exits normally (a preload).
      nodeArgs: options['cpu-prof']
        ? ['--cpu-prof', `--cpu-prof-dir=${path.join(profileRoot, name)}`, '-r', exitOnTerm()]
        : [],
    });
    stops.push(() => void peer.stop());
    return { name, url: peer.url, pid: peer.pid };
  }
  const [build, ...changes] = name.split('-');
  const port = await freePort();
  const app = variantApp(env, port, `khab-${name}`, { env: changes.includes('nolog') ? { ACCESS_LOG: '0' } : {} });
  const childEnv: NodeJS.ProcessEnv = { PATH: process.env.PATH };
  for (const [key, value] of Object.entries(app.env ?? {})) if (value !== undefined) childEnv[key] = String(value);
  // As the ecosystem starts a worker, less the source maps (only error stacks read them).
  // `-semi<N>`: the young generation's semi-spaces at N MB instead of the ecosystem's size.
  const semi = changes.find((change) => /^semi\d+$/.test(change));
  const nodeArgs = ((app.node_args ?? []) as string[])
    .filter((a) => a !== '--enable-source-maps' && !(changes.includes('gcthreads') && a === '--single-threaded-gc'))
    .map((a) => (semi && a.startsWith('--max-semi-space-size=') ? `--max-semi-space-size=${semi.slice(4)}` : a));
  const prof = options['cpu-prof'] ? ['--cpu-prof', `--cpu-prof-dir=${path.join(profileRoot, name)}`] : [];
  const child = spawn(process.execPath, [...nodeArgs, ...prof, buildMain(build!)], {
    env: childEnv,
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  stops.push((signal) => child.kill(signal));
  await waitForReady(`http://127.0.0.1:${port}`, 60_000);
  return { name, url: `http://127.0.0.1:${port}`, pid: child.pid! };
}

/** `{id}` in --path: a random id of 1..--rows (or of the seed's 2) for every request. */
const randomPath = options.path.includes('{id}')
  ? () => options.path.replace('{id}', String(1 + Math.floor(Math.random() * (options.rows || 2))))
  : undefined;

/** One load of a side, with what the scheduler did to its main thread meanwhile. */
interface Loaded {
  sample: Sample;
  /** Microseconds per request the main thread waited, runnable, for a CPU. */
  runQueueUs: number;
  /** Preemptions of the main thread per request. */
  preemptions: number;
}

async function load(side: Side): Promise<Loaded> {
  const before = mainThreadSched(side.pid);
  const sample = await httpLoad({
    url: `${side.url}${options.path.replace('{id}', '1')}`,
    path: randomPath,
    connections: options.connections,
    seconds: options.seconds,
    warmupSeconds: 0.5,
    watch: { worker: [side.pid] },
  });
  // Counted over the warm-up too: a per-request figure, read against the load's requests.
  const after = mainThreadSched(side.pid);
  return {
    sample,
    runQueueUs: ((after.runQueueSeconds - before.runQueueSeconds) / sample.requests) * 1e6,
    preemptions: (after.preemptions - before.preemptions) / sample.requests,
  };
}

async function main(): Promise<void> {
  const stack = await startThrowawayStack({ stackName: 'khab', workers: 1 });
  // A larger table (ids 1..rows), for pages: `--path '/todos?after=300000'`.
  if (options.rows > 0) await fillTodos(stack, options.rows);
  const stops: Stop[] = [];
  try {
    const sides: Side[] = [];
    for (const name of options.sides.split(',')) sides.push(await startSide(stack, name, stops));
    const cpuPerRequest = new Map<string, number[]>(sides.map((s) => [s.name, []]));
    const rps = new Map<string, number[]>(sides.map((s) => [s.name, []]));
    const runQueue = new Map<string, number[]>(sides.map((s) => [s.name, []]));
    const preempted = new Map<string, number[]>(sides.map((s) => [s.name, []]));
    for (let rep = 1; rep <= options.reps; rep++) {
      // Rotated, so no side always starts first.
      const order = sides.map((_, i) => sides[(i + rep) % sides.length]!);
      const samples = options.sequential ? [] : await Promise.all(order.map(load));
      for (const [i, side] of order.entries()) {
        const loaded = options.sequential ? await load(side) : samples[i]!;
        const { sample } = loaded;
        const us = (sample.cpuSeconds.worker! / sample.requests) * 1e6;
        cpuPerRequest.get(side.name)!.push(us);
        rps.get(side.name)!.push(sample.rps);
        runQueue.get(side.name)!.push(loaded.runQueueUs);
        preempted.get(side.name)!.push(loaded.preemptions);
        const bad = sample.errors + Object.entries(sample.statuses).filter(([s]) => !s.startsWith('2')).length;
        console.log(
          `rep ${rep}  ${side.name.padEnd(16)} ${Math.round(sample.rps)} req/s  ${us.toFixed(1)} us/req` +
            `  run queue ${loaded.runQueueUs.toFixed(1)} us/req  ${loaded.preemptions.toFixed(2)} preemptions/req` +
            (bad ? '  NOT ALL 2xx' : ''),
        );
      }
    }
    for (const side of sides)
      console.log(
        `${side.name.padEnd(16)} median ${median(cpuPerRequest.get(side.name)!).toFixed(1)} us/req, ${Math.round(median(rps.get(side.name)!))} req/s, ` +
          `run queue ${median(runQueue.get(side.name)!).toFixed(1)} us/req, ${median(preempted.get(side.name)!).toFixed(2)} preemptions/req`,
      );
    // How many requests each statement served (read batching), from the worker's own metrics.
    for (const side of sides.filter((s) => s.name !== 'peer')) {
      const text = await (await fetch(`${side.url}/metrics`)).text().catch(() => '');
      const sum = (name: string) =>
        [...text.matchAll(new RegExp(`^db_read_batch_size_${name}\\{[^}]*\\} (\\S+)$`, 'gm'))].reduce(
          (total, match) => total + Number(match[1]),
          0,
        );
      if (sum('count') > 0)
        console.log(`${side.name.padEnd(16)} ${(sum('sum') / sum('count')).toFixed(2)} requests per read statement`);
    }
    const first = sides[0]!.name;
    for (const side of sides.slice(1)) {
      const ratios = cpuPerRequest.get(side.name)!.map((us, i) => us / cpuPerRequest.get(first)![i]!);
      console.log(
        `CPU per request, ${side.name} / ${first}: median ${median(ratios).toFixed(3)}x  (${ratios.map((r) => r.toFixed(2)).join(' ')})`,
      );
    }
  } finally {
    for (const stop of stops) stop('SIGINT');
    if (options['cpu-prof']) {
      await new Promise((resolve) => setTimeout(resolve, 3000));
      console.log(`Profiles: ${profileRoot}/<side>/`);
    }
    for (const stop of stops) stop('SIGKILL');
    await stack.cleanup();
  }
}

void main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});

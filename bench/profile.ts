// Where a worker's CPU goes (issue 16 item 6): a throwaway stack (one worker under pm2, as npm start),
// the peer (bench/peer/app.ts), and one more worker started directly with `node --cpu-prof`, the same
// build and env as the pm2 one. Each is loaded with autocannon (GET / and GET /todos, 8 connections unless told,
// interleaved); then the profiled worker stops (SIGINT writes its profile) and the top self-time
// functions are printed, with req/s, worker CPU per request and RSS of each. Not a result: a tool.
//
//   npx tsx bench/profile.ts [--seconds 5] [--reps 2] [--paths /,/todos] [--connections 8] [--rows 600000] [--env ACCESS_LOG=0,...] [--only direct]
//     [--baseline] [--no-prof] [--node-args '--max-semi-space-size=4'] [--diff] [--pm2-prof]
// --pm2-prof: two more workers under pm2 as shipped (the ecosystem's node args plus --cpu-prof), one in
// cluster mode, one in fork mode; their profiles are printed and diffed per request against the peer's.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { workerAppName } from '../cluster/ecosystem';
import { freePort } from '../cluster/free-port';
import { listProcesses, runPm2 } from '../cluster/pm2';
import { PROJECT_ROOT } from '../cluster/settings';
import { DIST_DIR } from '../cluster/build/stamp';
import { fillTodos } from './harness/fill-todos';
import { httpLoad, type Watch } from './harness/measure';
import { rssMb } from './harness/proc';
import { peerDbOf, startPeer } from './peer/start';
import { processByName, startThrowawayStack, variantApp, waitForReady } from './throwaway-stack';

/** The compiled worker (npm run build, or any launcher command, makes it). */
const WORKER_BUILD_MAIN = path.join(PROJECT_ROOT, DIST_DIR, 'server', 'main.js');

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1]! : fallback;
}

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

function keyOf(node: ProfileNode): string {
  const frame = node.callFrame;
  const where = frame.url
    ? `${frame.url.replace(/^.*node_modules\//, '').replace(/^.*\/dist\//, 'dist/')}:${frame.lineNumber + 1}`
    : '';
  return `${frame.functionName || '(anonymous)'} ${where}`;
}

/**
 * Self and total (inclusive) time per function (name and place), in % of the busy samples (all but
 * idle), the top `n` of each.
 */
interface Profiled {
  self: string[];
  total: string[];
  selfSamples: Map<string, number>;
  totalSamples: Map<string, number>;
  busy: number;
  intervalUs: number;
}

function topFunctions(file: string, n: number): Profiled {
  const profile = JSON.parse(fs.readFileSync(file, 'utf8')) as { nodes: ProfileNode[]; samples: number[] };
  const hits = new Map<number, number>();
  for (const id of profile.samples) hits.set(id, (hits.get(id) ?? 0) + 1);
  const nodes = new Map(profile.nodes.map((node) => [node.id, node]));
  const self = new Map<string, number>();
  const total = new Map<string, number>();
  let busy = 0;
  // Walk from the root with the keys already on the path, so recursion counts once in a total.
  const walk = (node: ProfileNode, onPath: Set<string>): number => {
    const key = keyOf(node);
    let sum = hits.get(node.id) ?? 0;
    if (key.startsWith('(idle)')) return 0;
    busy += sum;
    self.set(key, (self.get(key) ?? 0) + sum);
    const fresh = !onPath.has(key);
    if (fresh) onPath.add(key);
    for (const child of node.children ?? []) sum += walk(nodes.get(child)!, onPath);
    if (fresh) {
      onPath.delete(key);
      total.set(key, (total.get(key) ?? 0) + sum);
    }
    return sum;
  };
  walk(profile.nodes[0]!, new Set());
  const us =
    (profile as unknown as { startTime: number; endTime: number }).endTime -
    (profile as unknown as { startTime: number }).startTime;
  console.log(`${file}: ${busy} busy samples of ${profile.samples.length} (${(us / 1e6).toFixed(1)} s)`);
  const top = (map: Map<string, number>) =>
    [...map.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, n)
      .map(([key, count]) => `${((100 * count) / busy).toFixed(1).padStart(5)}%  ${key}`);
  return {
    self: top(self),
    total: top(total),
    selfSamples: self,
    totalSamples: total,
    busy,
    intervalUs: us / profile.samples.length,
  };
}

/** Self time per request (us) of `a` minus `b`, by function, the largest differences both ways. */
function diffPerRequest(
  a: Profiled,
  aRequests: number,
  b: Profiled,
  bRequests: number,
  n: number,
  which: 'selfSamples' | 'totalSamples',
): string[] {
  const keys = new Set([...a[which].keys(), ...b[which].keys()]);
  const rows = [...keys].map((key) => {
    const ua = ((a[which].get(key) ?? 0) * a.intervalUs) / aRequests;
    const ub = ((b[which].get(key) ?? 0) * b.intervalUs) / bRequests;
    return { key, ua, ub, d: ua - ub };
  });
  rows.sort((x, y) => Math.abs(y.d) - Math.abs(x.d));
  return rows
    .slice(0, n)
    .map((r) => `${r.d.toFixed(2).padStart(7)} us  (${r.ua.toFixed(2)} vs ${r.ub.toFixed(2)})  ${r.key}`);
}

async function main() {
  const seconds = Number(arg('seconds', '5'));
  const reps = Number(arg('reps', '2'));
  const paths = arg('paths', '/,/todos').split(',');
  const connections = Number(arg('connections', '8'));
  const extraEnv: Record<string, string> = {};
  for (const pair of arg('env', '').split(',').filter(Boolean)) {
    const [key, value] = pair.split('=');
    extraEnv[key!] = value ?? '';
  }
  const only = arg('only', '');
  const stack = await startThrowawayStack({ stackName: 'kh-profile', workers: 1 });
  // --rows: a larger table, for pages (`--paths '/todos?after=300000'`) and random ids.
  if (arg('rows', '')) await fillTodos(stack, Number(arg('rows', '')));
  const profileDir = path.join(stack.home, 'profile');
  fs.mkdirSync(profileDir, { recursive: true });
  let child: ReturnType<typeof spawn> | undefined;
  const cleanups: (() => void)[] = [];
  try {
    const { settings, env } = stack;
    const oursPort = stack.workerPorts[0]!;
    const processes = await listProcesses(env);
    const oursPid = processByName(processes, workerAppName(settings, oursPort)).pid;
    // With --cpu-prof the peer writes its profile on a normal exit: SIGTERM exits normally (a preload).
    const exitOnTerm = path.join(stack.home, 'exit-on-term.js');
    fs.writeFileSync(exitOnTerm, "process.on('SIGTERM', () => process.exit(0));\n");
    const peerProfileDir = path.join(stack.home, 'peer-profile');
    fs.mkdirSync(peerProfileDir, { recursive: true });
    const peer = await startPeer({
      nodeArgs: process.argv.includes('--no-prof')
        ? []
        : ['--cpu-prof', `--cpu-prof-dir=${peerProfileDir}`, '-r', exitOnTerm],
      dir: path.join(stack.home, 'peer'),
      port: await freePort(),
      db: peerDbOf(settings),
    });
    const directPort = await freePort();
    const app = variantApp(env, directPort, 'kh-profile-direct', { env: extraEnv });
    const childEnv: NodeJS.ProcessEnv = { PATH: process.env.PATH };
    for (const [key, value] of Object.entries(app.env ?? {})) if (value !== undefined) childEnv[key] = String(value);
    const profiling = !process.argv.includes('--no-prof');
    const profArgs = profiling ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [];
    const nodeArgs = arg('node-args', '').split(' ').filter(Boolean);
    child = spawn(process.execPath, [...nodeArgs, ...profArgs, WORKER_BUILD_MAIN], {
      env: childEnv,
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    await waitForReady(`http://127.0.0.1:${directPort}`, 60_000);
    // --baseline: a copy of an earlier build in dist/.base (git ignores dist/), the same env, no profile.
    let base: ReturnType<typeof spawn> | undefined;
    const basePort = await freePort();
    const baseMain = path.join(path.dirname(path.dirname(WORKER_BUILD_MAIN)), '.base', 'server', 'main.js');
    if (process.argv.includes('--baseline')) {
      const baseApp = variantApp(env, basePort, 'kh-profile-base', { env: extraEnv });
      const baseEnv: NodeJS.ProcessEnv = { PATH: process.env.PATH };
      for (const [key, value] of Object.entries(baseApp.env ?? {}))
        if (value !== undefined) baseEnv[key] = String(value);
      base = spawn(process.execPath, [baseMain], { env: baseEnv, stdio: ['ignore', 'inherit', 'inherit'] });
      cleanups.push(() => base?.kill('SIGKILL'));
      await waitForReady(`http://127.0.0.1:${basePort}`, 60_000);
    }
    const sides: Record<string, { url: string; watch: Watch }> = {
      'ours (pm2)': { url: `http://127.0.0.1:${oursPort}`, watch: { worker: [oursPid] } },
      peer: { url: peer.url, watch: { worker: [peer.pid] } },
      direct: { url: `http://127.0.0.1:${directPort}`, watch: { worker: [child.pid!] } },
    };
    if (base) sides['base (dist/.base)'] = { url: `http://127.0.0.1:${basePort}`, watch: { worker: [base.pid!] } };
    // --pm2-prof: the same worker under pm2, cluster and fork mode, each writing its own profile.
    const pm2Profiled: { name: string; side: string; dir: string }[] = [];
    if (process.argv.includes('--pm2-prof')) {
      const apps: ReturnType<typeof variantApp>[] = [];
      const ports: number[] = [];
      for (const mode of ['cluster', 'fork'] as const) {
        const port = await freePort();
        const name = `kh-profile-pm2-${mode}`;
        const dir = path.join(stack.home, `profile-${mode}`);
        fs.mkdirSync(dir, { recursive: true });
        const variant = variantApp(env, port, name, { fork: mode === 'fork', env: extraEnv });
        variant.node_args = [...(variant.node_args as string[]), '--cpu-prof', `--cpu-prof-dir=${dir}`];
        apps.push(variant);
        ports.push(port);
        pm2Profiled.push({ name, side: `pm2 ${mode} (prof)`, dir });
      }
      await stack.addVariants(apps, ports);
      const listed = await listProcesses(env);
      pm2Profiled.forEach((p, i) => {
        sides[p.side] = { url: `http://127.0.0.1:${ports[i]}`, watch: { worker: [processByName(listed, p.name).pid] } };
      });
    }
    const perRequest = new Map<string, number[]>();
    const served = new Map<string, number>();
    for (let rep = 1; rep <= reps; rep += 1) {
      for (const p of paths) {
        for (const [name, side] of Object.entries(sides)) {
          if (only && !only.split(',').some((prefix) => name.startsWith(prefix))) continue;
          const sample = await httpLoad({
            url: `${side.url}${p}`,
            connections,
            seconds,
            warmupSeconds: 1,
            watch: side.watch,
            rssOf: ['worker'],
          });
          const us = (sample.cpuSeconds.worker! / sample.requests) * 1e6;
          const key = `${p.padEnd(7)} ${name}`;
          if (rep > 1 || reps === 1) perRequest.set(key, [...(perRequest.get(key) ?? []), us]);
          // Requests each profiled process served, warm-up included (about 1 s more at the same rate).
          served.set(name, (served.get(name) ?? 0) + sample.requests * (1 + 1 / seconds));
          console.log(
            `rep ${rep} ${p.padEnd(7)} ${name.padEnd(20)} ${sample.rps.toFixed(0).padStart(6)} req/s  ` +
              `${us.toFixed(0).padStart(4)} us/req  peak RSS ${sample.peakRssMb.worker} MB  ${JSON.stringify(sample.statuses)}`,
          );
        }
      }
    }
    console.log('Median worker CPU per request (repetition 1 left out as warm-up):');
    for (const [key, values] of perRequest) {
      const sorted = [...values].sort((a, b) => a - b);
      console.log(
        `  ${key.padEnd(30)} ${sorted[Math.floor(sorted.length / 2)]!.toFixed(0)} us  (${sorted.map((v) => v.toFixed(0)).join(' ')})`,
      );
    }
    console.log(`RSS now: ours ${rssMb(oursPid)} MB, peer ${rssMb(peer.pid)} MB, direct ${rssMb(child.pid!)} MB`);
    const metrics = await (await fetch(`http://127.0.0.1:${directPort}/metrics`)).text();
    for (const line of metrics.split('\n'))
      if (
        /^(nodejs_heap_size_(used|total)_bytes|process_resident_memory_bytes|nodejs_external_memory_bytes|nodejs_heap_space_size_(total|used)_bytes)/.test(
          line,
        )
      )
        console.log(`direct ${line}`);
    let oursProfile: Profiled | undefined;
    const exited = new Promise((resolve) => child!.once('exit', resolve));
    child.kill('SIGINT');
    await exited;
    child = undefined;
    const file = fs.readdirSync(profileDir).find((name) => name.endsWith('.cpuprofile'));
    if (file) {
      const keep = path.join('/tmp', `worker-${Date.now()}.cpuprofile`);
      fs.copyFileSync(path.join(profileDir, file), keep);
      const ours = topFunctions(keep, Number(arg('top', '40')));
      oursProfile = ours;
      const { self, total } = ours;
      console.log(`\nTop self time, % of busy samples (profile kept in ${keep}):`);
      for (const line of self) console.log(line);
      console.log('\nTop total (inclusive) time, % of busy samples:');
      for (const line of total) console.log(line);
    }
    await peer.stop();
    const peerProfileFile = fs.readdirSync(peerProfileDir).find((name) => name.endsWith('.cpuprofile'));
    for (const p of pm2Profiled) {
      // pm2's stop sends SIGINT: the worker drains and exits, and --cpu-prof writes its profile.
      await runPm2(['stop', p.name], env);
      const file = fs.readdirSync(p.dir).find((name) => name.endsWith('.cpuprofile'));
      if (!file) {
        console.log(`\n${p.side}: no profile written`);
        continue;
      }
      const keep = path.join('/tmp', `${p.name}-${Date.now()}.cpuprofile`);
      fs.copyFileSync(path.join(p.dir, file), keep);
      const profiled = topFunctions(keep, Number(arg('top', '40')));
      console.log(`\n${p.side}, top self time, % of busy samples (profile kept in ${keep}):`);
      for (const line of profiled.self) console.log(line);
      if (peerProfileFile) {
        const peerProfile = topFunctions(path.join(peerProfileDir, peerProfileFile), 0);
        const a = served.get(p.side)!;
        const b = served.get('peer')!;
        console.log(
          `\n${p.side} minus peer, self time per request; busy per request ${((profiled.busy * profiled.intervalUs) / a).toFixed(1)} us against ${((peerProfile.busy * peerProfile.intervalUs) / b).toFixed(1)} us:`,
        );
        for (const line of diffPerRequest(profiled, a, peerProfile, b, Number(arg('diff-top', '40')), 'selfSamples'))
          console.log(line);
      }
    }
    const peerFile = fs.readdirSync(peerProfileDir).find((name) => name.endsWith('.cpuprofile'));
    if (peerFile && oursProfile && process.argv.includes('--diff')) {
      const peerProfile = topFunctions(path.join(peerProfileDir, peerFile), 0);
      const d = Number(arg('diff-top', '40'));
      console.log('\nSelf time per request, direct minus peer:');
      const a = served.get('direct')!;
      const b = served.get('peer')!;
      console.log(
        `busy per request: direct ${((oursProfile.busy * oursProfile.intervalUs) / a).toFixed(1)} us, peer ${((peerProfile.busy * peerProfile.intervalUs) / b).toFixed(1)} us`,
      );
      for (const line of diffPerRequest(oursProfile, a, peerProfile, b, d, 'selfSamples')) console.log(line);
      console.log('\nTotal time per request, direct minus peer:');
      for (const line of diffPerRequest(oursProfile, a, peerProfile, b, d, 'totalSamples')) console.log(line);
    }
    if (peerFile && arg('peer-top', '0') !== '0') {
      const { self, total } = topFunctions(path.join(peerProfileDir, peerFile), Number(arg('peer-top', '0')));
      console.log('\nThe peer, top self time, % of busy samples:');
      for (const line of self) console.log(line);
      console.log('\nThe peer, top total time:');
      for (const line of total) console.log(line);
    }
  } finally {
    for (const cleanup of cleanups) cleanup();
    child?.kill('SIGKILL');
    await stack.cleanup();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});

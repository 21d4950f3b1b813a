// What holds a worker's memory after a load (issue 16 item 6: RSS < 100 MB after a 10 s load), and which
// node flags change it: an A/B of worker variants started directly (the same build and env as the pm2
// worker of a throwaway stack), each a FRESH process per repetition, loaded with autocannon for `--seconds`
// at 8 then 64 connections on each path; peak RSS during each load, RSS 1 s after it, req/s and CPU per
// request, and V8's heap spaces and external memory from the worker's /metrics after the last load.
// Variants run in a rotated order per repetition (the machine is shared). Not a result: a tool.
//
//   npx tsx bench/memory.ts [--seconds 10] [--reps 3] [--paths /,/todos]
//     [--variant 'default|' --variant 'semi2|--max-semi-space-size=2' --variant 'arena2||MALLOC_ARENA_MAX=2']
// A variant is `label|node args (space-separated)|ENV=v,ENV2=v`.
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { PROJECT_ROOT } from '../cluster/settings';
import { DIST_DIR } from '../cluster/build/stamp';
import { freePort } from '../cluster/free-port';
import { httpLoad } from './harness/measure';
import { rssMb } from './harness/proc';
import { startThrowawayStack, variantApp, waitForReady } from './throwaway-stack';

const WORKER_BUILD_MAIN = path.join(PROJECT_ROOT, DIST_DIR, 'server', 'main.js');

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1]! : fallback;
}

function args(name: string): string[] {
  const out: string[] = [];
  process.argv.forEach((value, i) => {
    if (value === `--${name}` && process.argv[i + 1] !== undefined) out.push(process.argv[i + 1]!);
  });
  return out;
}

interface Variant {
  label: string;
  nodeArgs: string[];
  env: Record<string, string>;
}

function parseVariant(spec: string): Variant {
  const [label, nodeArgs = '', env = ''] = spec.split('|');
  return {
    label: label!,
    nodeArgs: nodeArgs.split(' ').filter(Boolean),
    env: Object.fromEntries(
      env
        .split(',')
        .filter(Boolean)
        .map((pair) => pair.split('=') as [string, string]),
    ),
  };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

const range = (values: number[], digits = 0) =>
  `${median(values).toFixed(digits)} (${Math.min(...values).toFixed(digits)}-${Math.max(...values).toFixed(digits)})`;

async function main() {
  const seconds = Number(arg('seconds', '10'));
  const reps = Number(arg('reps', '3'));
  const paths = arg('paths', '/,/todos').split(',');
  const specs = args('variant');
  const variants = (specs.length ? specs : ['default|--enable-source-maps']).map(parseVariant);
  const stack = await startThrowawayStack({ stackName: 'kh-memory', workers: 1 });
  let child: ChildProcess | undefined;
  // label -> measurement -> values
  const results = new Map<string, Map<string, number[]>>();
  const record = (label: string, key: string, value: number) => {
    const byKey = results.get(label) ?? new Map<string, number[]>();
    results.set(label, byKey);
    byKey.set(key, [...(byKey.get(key) ?? []), value]);
  };
  try {
    for (let rep = 0; rep < reps; rep += 1) {
      const order = variants.map((_, i) => variants[(i + rep) % variants.length]!);
      for (const variant of order) {
        const port = await freePort();
        const app = variantApp(stack.env, port, `kh-memory-${variant.label}`, { env: variant.env });
        const childEnv: NodeJS.ProcessEnv = { PATH: process.env.PATH };
        for (const [key, value] of Object.entries(app.env ?? {}))
          if (value !== undefined) childEnv[key] = String(value);
        child = spawn(process.execPath, [...variant.nodeArgs, WORKER_BUILD_MAIN], {
          env: childEnv,
          stdio: ['ignore', 'ignore', 'inherit'],
        });
        const pid = child.pid!;
        await waitForReady(`http://127.0.0.1:${port}`, 60_000);
        record(variant.label, 'start RSS', rssMb(pid));
        let peakAll = 0;
        for (const p of paths) {
          for (const connections of [8, 64]) {
            const sample = await httpLoad({
              url: `http://127.0.0.1:${port}${p}`,
              connections,
              seconds,
              warmupSeconds: 0,
              watch: { worker: [pid] },
              rssOf: ['worker'],
            });
            await sleep(1000);
            const after = rssMb(pid);
            const peak = sample.peakRssMb.worker!;
            peakAll = Math.max(peakAll, peak);
            const key = `${p} ${connections}c`;
            record(variant.label, `${key} req/s`, sample.rps);
            record(variant.label, `${key} us/req`, (sample.cpuSeconds.worker! / sample.requests) * 1e6);
            record(variant.label, `${key} peak RSS`, peak);
            record(variant.label, `${key} after RSS`, after);
            console.log(
              `rep ${rep + 1} ${variant.label.padEnd(12)} ${key.padEnd(12)} ${sample.rps.toFixed(0).padStart(6)} req/s ` +
                `${((sample.cpuSeconds.worker! / sample.requests) * 1e6).toFixed(0).padStart(4)} us/req ` +
                `peak ${peak.toFixed(0)} MB, after ${after.toFixed(0)} MB ${JSON.stringify(sample.statuses)}`,
            );
          }
        }
        record(variant.label, 'peak RSS, all loads', peakAll);
        const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
        const mb = (re: RegExp) => {
          const match = re.exec(metrics);
          return match ? Number(match[1]) / 2 ** 20 : NaN;
        };
        const heapUsed = mb(/^nodejs_heap_size_used_bytes(?:\{[^}]*\})? (\S+)/m);
        const heapTotal = mb(/^nodejs_heap_size_total_bytes(?:\{[^}]*\})? (\S+)/m);
        const external = mb(/^nodejs_external_memory_bytes(?:\{[^}]*\})? (\S+)/m);
        const newSpace = mb(/^nodejs_heap_space_size_total_bytes\{[^}]*space="new"[^}]*\} (\S+)/m);
        const oldTotal = mb(/^nodejs_heap_space_size_total_bytes\{[^}]*space="old"[^}]*\} (\S+)/m);
        const oldUsed = mb(/^nodejs_heap_space_size_used_bytes\{[^}]*space="old"[^}]*\} (\S+)/m);
        const code = mb(/^nodejs_heap_space_size_total_bytes\{[^}]*space="code"[^}]*\} (\S+)/m);
        record(variant.label, 'heap used', heapUsed);
        record(variant.label, 'heap total', heapTotal);
        record(variant.label, 'new space', newSpace);
        record(variant.label, 'old space total', oldTotal);
        record(variant.label, 'old space used', oldUsed);
        record(variant.label, 'code space', code);
        record(variant.label, 'external', external);
        console.log(
          `rep ${rep + 1} ${variant.label.padEnd(12)} heap used ${heapUsed.toFixed(1)} of ${heapTotal.toFixed(1)} MB ` +
            `(new ${newSpace.toFixed(1)}, old ${oldUsed.toFixed(1)}/${oldTotal.toFixed(1)}, code ${code.toFixed(1)}), ` +
            `external ${external.toFixed(1)} MB, RSS ${rssMb(pid).toFixed(0)} MB`,
        );
        const exited = new Promise((resolve) => child!.once('exit', resolve));
        child.kill('SIGTERM');
        await Promise.race([exited, sleep(15_000)]);
        child.kill('SIGKILL');
        child = undefined;
      }
    }
    console.log('\nMedian (min-max) per variant:');
    const keys = [...(results.values().next().value ?? new Map<string, number[]>()).keys()];
    for (const key of keys) {
      const digits = /MB|space|heap|external/.test(key) && !/RSS/.test(key) ? 1 : 0;
      console.log(
        `  ${key.padEnd(22)} ${variants.map((v) => `${v.label}: ${range(results.get(v.label)!.get(key)!, digits)}`).join('   ')}`,
      );
    }
  } finally {
    child?.kill('SIGKILL');
    await stack.cleanup();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});

// What a one-connection pool and the TCP proxy cost, measured in one run on this machine: the same
// worker code under the same load (autocannon, loopback only, bounded duration) with
//   A. the default pool of 1 through HAProxy (the product),
//   B. a pool of 4 through HAProxy,
//   C. a pool of 1 straight to MariaDB (HAProxy bypassed),
// for a fast query (GET /todos) and a slow one (GET /sleep/0.05). Absolute numbers drift on a shared
// machine; the ratios between rows of one run are the result. Usage: npm run bench [-- seconds]
import autocannon from 'autocannon';
import { startTestStack, type TestStack } from '../test/support/stack';
import type { WorkerHandle } from '../test/support/worker';

const DURATION_S = Number(process.argv[2] ?? 5);
const CONNECTIONS = 16;

interface Row {
  scenario: string;
  path: string;
  rps: number;
  p50: number;
  p99: number;
  non2xx: number;
}

async function load(worker: WorkerHandle, path: string): Promise<Omit<Row, 'scenario' | 'path'>> {
  const result = await autocannon({ url: `${worker.url}${path}`, connections: CONNECTIONS, duration: DURATION_S });
  return { rps: result.requests.average, p50: result.latency.p50, p99: result.latency.p99, non2xx: result.non2xx };
}

async function main(): Promise<void> {
  // Queue and wait limits raised so the bench measures throughput, not the 503s that protect users.
  const limits = { DB_QUEUE_LIMIT: '1000', DB_ACQUIRE_TIMEOUT_MS: '60000' };
  const stack: TestStack = await startTestStack({ workers: 0 });
  try {
    const scenarios: [string, WorkerHandle][] = [
      ['A pool 1 via HAProxy', await stack.addWorker(limits)],
      ['B pool 4 via HAProxy', await stack.addWorker({ ...limits, DB_POOL_SIZE: '4' })],
      ['C pool 1 direct to MariaDB', await stack.addWorker({ ...limits, HAPROXY_PORT: String(stack.mariadb.port) })],
    ];
    const rows: Row[] = [];
    for (const path of ['/todos', '/sleep/0.05']) {
      for (const [scenario, worker] of scenarios) {
        await load(worker, path); // warm-up pass, discarded
        rows.push({ scenario, path, ...(await load(worker, path)) });
      }
    }
    console.log(`\n${CONNECTIONS} connections, ${DURATION_S} s per row, ${new Date().toISOString()}\n`);
    console.log('| scenario | path | req/s | p50 ms | p99 ms | non-2xx |');
    console.log('|---|---|---|---|---|---|');
    for (const r of rows) console.log(`| ${r.scenario} | ${r.path} | ${r.rps.toFixed(0)} | ${r.p50} | ${r.p99} | ${r.non2xx} |`);
    const rps = (scenario: string, path: string) => rows.find((r) => r.scenario.startsWith(scenario) && r.path === path)!.rps;
    console.log('\nRatios (same run):');
    for (const path of ['/todos', '/sleep/0.05']) {
      console.log(`  ${path}: pool 4 / pool 1 = ${(rps('B', path) / rps('A', path)).toFixed(2)}x;`
        + ` direct / via HAProxy = ${(rps('C', path) / rps('A', path)).toFixed(2)}x`);
    }
  } finally {
    await stack.stop();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});

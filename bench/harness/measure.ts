// One measurement of one scenario: a load (autocannon over HTTP, or the one-connection limit's
// statements) with the CPU time of the processes it reaches, and the peak RSS of some of them, read from
// /proc around it. Both kinds return the same Sample, so the harness summarises them alike.
import autocannon from 'autocannon';
import { measureLimit, type LimitOptions } from '../limit';
import { rssSampler, totalCpuSeconds } from './proc';

export interface Sample {
  /** Requests (the limit: statements) per second. */
  rps: number;
  requests: number;
  /** Milliseconds. */
  p50: number;
  p99: number;
  /** Socket errors and timeouts: no answer at all. */
  errors: number;
  /** Every answer by HTTP status ("200": n, "503": n); empty for the limit. */
  statuses: Record<string, number>;
  wallSeconds: number;
  /** CPU seconds used while measuring, by the names of `watch`, plus `bench`: this process (the load generator). */
  cpuSeconds: Record<string, number>;
  /** Peak RSS (sampled every 200 ms) in MB, by the names of `rssOf`. */
  peakRssMb: Record<string, number>;
}

/** The processes to watch: a name ("worker", "haproxy") and its pids. */
export type Watch = Record<string, number[]>;

/** Starts watching; the returned function stops and gives the CPU seconds and RSS peaks since. */
export function watchProcesses(watch: Watch, rssOf: string[] = []): () => Pick<Sample, 'cpuSeconds' | 'peakRssMb'> {
  const names = Object.keys(watch);
  const before = names.map((name) => totalCpuSeconds(watch[name]!));
  const benchBefore = process.cpuUsage();
  const rssPids = rssOf.map((name) => watch[name]?.[0] ?? -1);
  const stopRss = rssSampler(rssPids);
  return () => {
    const peaks = stopRss();
    const bench = process.cpuUsage(benchBefore);
    const cpuSeconds: Record<string, number> = { bench: (bench.user + bench.system) / 1e6 };
    names.forEach((name, i) => (cpuSeconds[name] = totalCpuSeconds(watch[name]!) - before[i]!));
    return { cpuSeconds, peakRssMb: Object.fromEntries(rssOf.map((name, i) => [name, peaks[i]!])) };
  };
}

export interface HttpLoad {
  url: string;
  connections: number;
  seconds: number;
  warmupSeconds: number;
  method?: 'GET' | 'POST';
  headers?: Record<string, string>;
  body?: string;
  /** A new path for every request (e.g. a random id), instead of the url's. */
  path?: () => string;
  watch: Watch;
  rssOf?: string[];
}

function autocannonOptions(load: HttpLoad, duration: number): autocannon.Options {
  const next = load.path;
  const method = load.method ?? 'GET';
  // autocannon takes an option given as undefined as set: only what is given.
  const options: autocannon.Options = { url: load.url, connections: load.connections, duration, method };
  if (load.headers) options.headers = load.headers;
  if (load.body !== undefined) options.body = load.body;
  if (next) options.requests = [{ method, setupRequest: (request) => ({ ...request, path: next() }) }];
  return options;
}

/** autocannon's answers by status; only a non-2xx count when this autocannon has no statusCodeStats. */
export function statusesOf(
  result: Pick<autocannon.Result, 'statusCodeStats' | 'non2xx' | 'requests'> & { '2xx'?: number },
): Record<string, number> {
  const statuses: Record<string, number> = {};
  for (const [status, stat] of Object.entries(result.statusCodeStats ?? {})) statuses[status] = stat?.count ?? 0;
  if (Object.keys(statuses).length === 0) {
    if (result['2xx']) statuses['2xx'] = result['2xx'];
    if (result.non2xx) statuses['non-2xx'] = result.non2xx;
  }
  return statuses;
}

export async function httpLoad(load: HttpLoad): Promise<Sample> {
  if (load.warmupSeconds > 0) {
    await autocannon(autocannonOptions(load, load.warmupSeconds));
    // An app that does not cancel the work of a client that left still owes the warm-up's last requests:
    // one more request, answered after them, so the measurement starts on an idle app.
    const drain = await fetch(new URL(load.path?.() ?? '', load.url), {
      method: load.method ?? 'GET',
      headers: load.headers,
      body: load.body,
    });
    await drain.arrayBuffer();
  }
  const stop = watchProcesses(load.watch, load.rssOf);
  const t0 = performance.now();
  const result = await autocannon(autocannonOptions(load, load.seconds));
  const wallSeconds = (performance.now() - t0) / 1000;
  return {
    rps: result.requests.total / wallSeconds,
    requests: result.requests.total,
    p50: result.latency.p50,
    p99: result.latency.p99,
    errors: result.errors + result.timeouts,
    statuses: statusesOf(result),
    wallSeconds,
    ...stop(),
  };
}

/** The one-connection limit (bench/limit.ts) as a Sample. */
export async function limitLoad(options: LimitOptions, watch: Watch): Promise<Sample> {
  if (options.warmupSeconds) await measureLimit({ ...options, seconds: options.warmupSeconds, warmupSeconds: 0 });
  const stop = watchProcesses(watch);
  const result = await measureLimit({ ...options, warmupSeconds: 0 });
  if (result.rows < 1) throw new Error(`The limit's statement (${options.sql}) returned no rows.`);
  const measured = stop();
  // Connecting and closing are not the limit's: the client's own seconds around the statements.
  measured.cpuSeconds.bench = result.clientCpuSeconds;
  return {
    rps: result.qps,
    requests: result.queries,
    p50: result.p50Ms,
    p99: result.p99Ms,
    errors: result.errors,
    statuses: {},
    wallSeconds: result.wallSeconds,
    ...measured,
  };
}

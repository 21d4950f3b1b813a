// The chart `npm run bench` writes (bench/results/<date>.svg): GET /todos req/s and p99 on one worker
// against concurrency, with the one-connection limit and the HTTP ceiling as horizontal lines.
import { renderChart } from './chart';
import type { Spread } from './stats';

/** The chart of a run: /todos req/s and p99 against concurrency, with the limit and the HTTP ceiling as lines. */
export function benchChart(summary: (key: string) => { connections: number; rps: Spread; p99: Spread }, date: string,
  machine: { cores: number; node: string }, options: { reps: number; seconds: number }, loadBefore: number[]): string {
  return renderChart({
    title: 'GET /todos on one worker against the one-connection limit',
    xLabel: 'connections (autocannon, keep-alive)',
    xs: [1, 8, 64],
    panels: [
      {
        title: 'throughput (median, bar: min–max)',
        yLabel: 'req/s (limit: queries/s)',
        series: [{ label: 'GET /todos, one worker (req/s)', color: '#1f77b4', points: ['todos-1', 'todos-8', 'todos-64'].map((k) => {
          const s = summary(k);
          return { x: s.connections, y: s.rps.median, low: s.rps.min, high: s.rps.max };
        }) }],
        lines: [
          { label: 'limit: list_todos on 1 connection via HAProxy (q/s)', y: summary('limit-haproxy').rps.median, color: '#d62728' },
          { label: 'limit: list_todos on 1 connection, direct TCP (q/s)', y: summary('limit-direct').rps.median, color: '#ff7f0e' },
          { label: 'HTTP ceiling: GET / on one worker, 8 connections (req/s)', y: summary('root-8').rps.median, color: '#2ca02c' },
        ],
      },
      {
        title: 'p99 latency (median, bar: min–max)',
        yLabel: 'ms',
        series: [{ label: 'GET /todos, one worker (p99 ms)', color: '#9467bd', points: ['todos-1', 'todos-8', 'todos-64'].map((k) => {
          const s = summary(k);
          return { x: s.connections, y: s.p99.median, low: s.p99.min, high: s.p99.max };
        }) }],
        lines: [{ label: 'limit: one query round trip via HAProxy (p99 ms)', y: summary('limit-haproxy').p99.median, color: '#8c564b' }],
      },
    ],
    note: `${date}, ${machine.cores} cores, Node ${machine.node}, ${options.reps} repetitions interleaved, ${options.seconds} s each; load average ${loadBefore[0]!.toFixed(1)} before`,
  });
}

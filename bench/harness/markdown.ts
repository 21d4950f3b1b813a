// The Markdown of a results file: tables of summaries and ratios. Pure: data in, lines out.
import type { Ratio, Summary } from './run';
import { fmt, fmtSpread } from './stats';

/** A Markdown table; `|` in a cell is escaped. */
export function table(header: string[], rows: (string | number)[][]): string[] {
  const cell = (v: string | number) => String(v).replace(/\|/g, '\\|');
  return [
    `| ${header.map(cell).join(' | ')} |`,
    `|${header.map(() => '---').join('|')}|`,
    ...rows.map((r) => `| ${r.map(cell).join(' | ')} |`),
  ];
}

/** "0", or the answers that were not 2xx by status: "503: 120, 404: 3". */
export function fmtRefusals(refusals: Record<string, number>): string {
  const entries = Object.entries(refusals).sort(([, a], [, b]) => b - a);
  return entries.length === 0 ? '0' : entries.map(([status, n]) => `${status}: ${n}`).join(', ');
}

/** "**1.52x** (1.40–1.61)", with "met"/"missed" when the ratio has a target. */
export function fmtRatio(r: Ratio): string {
  const value = Number.isFinite(r.median)
    ? `**${r.median.toFixed(2)}x** (${r.min.toFixed(2)}–${r.max.toFixed(2)})`
    : 'n/a';
  if (r.target === undefined || !Number.isFinite(r.median)) return value;
  return `${value}, target ≥ ${r.target}x ${r.median >= r.target ? 'met' : 'missed'}`;
}

export interface SummaryColumns {
  /** Extra leading columns, taken from the summary (e.g. the path and the connections). */
  lead?: { header: string; cell: (s: Summary) => string | number }[];
  /** Process names whose CPU is shown ("worker", "haproxy", ...), with their headers. */
  cpu?: { name: string; header: string }[];
  /** Process names whose peak RSS is shown. */
  rss?: { name: string; header: string }[];
  /** Digits of p50/p99 (ms). */
  latencyDigits?: (s: Summary) => number;
}

/** One row per summary: req/s, p50, p99 (median and range), errors, refusals, CPU % (µs per request), peak RSS. */
export function summaryTable(summaries: Summary[], columns: SummaryColumns = {}): string[] {
  const lead = columns.lead ?? [];
  const cpu = columns.cpu ?? [];
  const rss = columns.rss ?? [];
  const digits = columns.latencyDigits ?? (() => 1);
  const header = [
    'scenario',
    ...lead.map((c) => c.header),
    'req/s',
    'p50 ms',
    'p99 ms',
    'errors',
    'non-2xx',
    ...cpu.map((c) => c.header),
    ...rss.map((c) => c.header),
  ];
  const rows = summaries.map((s) => [
    s.label,
    ...lead.map((c) => c.cell(s)),
    fmtSpread(s.rps),
    fmtSpread(s.p50, digits(s)),
    fmtSpread(s.p99, digits(s)),
    s.errors,
    fmtRefusals(s.refusals),
    ...cpu.map((c) =>
      s.cpuPct[c.name] === undefined ? '' : `${fmt(s.cpuPct[c.name]!)}% (${fmt(s.cpuUsPerReq[c.name]!)})`,
    ),
    ...rss.map((c) => (s.peakRssMb[c.name] === undefined ? '' : fmt(s.peakRssMb[c.name]!))),
  ]);
  return table(header, rows);
}

export function ratioTable(ratios: Ratio[]): string[] {
  return table(
    ['ratio of req/s, same repetition', 'median (min–max)'],
    ratios.map((r) => [r.name, fmtRatio(r)]),
  );
}

// What a run records about itself (date, Node, commit, machine, load) and where it writes: one Markdown
// summary, one chart and one compact JSON (summaries and ratios, no raw samples) per run, as
// bench/results/<name>-<date>.{md,svg,json}; a --quick run adds "-quick" (git-ignored).
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PROJECT_ROOT } from '../../cluster/settings';

export interface RunInfo {
  startedAt: string;
  date: string;
  node: string;
  /** `git rev-parse HEAD`, with "-dirty" when the work tree had changes. */
  commit: string;
  machine: { cores: number; cpu: string; platform: string };
  loadAverageBefore: number[];
}

function git(args: string[]): string {
  try {
    return execFileSync('git', args, {
      cwd: PROJECT_ROOT,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
  } catch {
    return '';
  }
}

export function runInfo(): RunInfo {
  const now = new Date();
  const head = git(['rev-parse', 'HEAD']) || 'unknown';
  const dirty = git(['status', '--porcelain', '--untracked-files=no']) !== '';
  return {
    startedAt: now.toISOString(),
    date: now.toISOString().slice(0, 10),
    node: process.version,
    commit: dirty ? `${head}-dirty` : head,
    machine: {
      cores: os.cpus().length,
      cpu: os.cpus()[0]?.model ?? 'unknown',
      platform: `${os.type()} ${os.release()}`,
    },
    loadAverageBefore: os.loadavg(),
  };
}

/** The run's first paragraph: machine, Node, commit, load, repetitions and durations. */
export function runParagraph(
  info: RunInfo,
  options: { reps: number; seconds: number; warmupSeconds: number; quick: boolean },
  wallSeconds: number,
): string {
  const load = (l: number[]) => l.map((v) => v.toFixed(2)).join(' ');
  return (
    `${info.machine.cores} cores (${info.machine.cpu}), ${info.machine.platform}, Node ${info.node}, commit \`${info.commit.slice(0, 12)}\`` +
    `${info.commit.endsWith('-dirty') ? ' (with uncommitted changes)' : ''}; load average ${load(info.loadAverageBefore)} before, ` +
    `${load(os.loadavg())} after. ${options.reps} repetition${options.reps === 1 ? '' : 's'}, interleaved; ` +
    `${options.warmupSeconds} s warm-up + ${options.seconds} s per measurement${options.quick ? ' (**--quick: a smoke run, not a result**)' : ''}; ` +
    `whole run ${Math.round(wallSeconds)} s.`
  );
}

export const RESULTS_DIR = path.join(PROJECT_ROOT, 'bench', 'results');

/** Written in a bench's Markdown where its chart goes: replaced by the chart file's name as written. */
export const CHART_FILE = '{chart-file}';

/**
 * The results' base path: <name>-<date>, or with the next free letter (<date>b, <date>c, ...) when a
 * run of that day is already there, so a second run never overwrites the first (a quick run is always
 * <date>-quick: it is not a result).
 */
export function resultsBase(dir: string, name: string, date: string, quick: boolean): string {
  const plain = path.join(dir, `${name}-${date}`);
  if (quick) return `${plain}-quick`;
  if (!fs.existsSync(`${plain}.md`)) return plain;
  for (let code = 'b'.charCodeAt(0); code <= 'z'.charCodeAt(0); code += 1) {
    const lettered = `${plain}${String.fromCharCode(code)}`;
    if (!fs.existsSync(`${lettered}.md`)) return lettered;
  }
  throw new Error(`${plain}: every lettered results name of this day is taken.`);
}

/** Writes <name>-<date>[letter|-quick].md, .json and (if given) .svg; returns their paths. */
export function writeResults(
  name: string,
  info: RunInfo,
  quick: boolean,
  files: { markdown: string[]; json: Record<string, unknown>; svg?: string },
  dir = RESULTS_DIR,
): string[] {
  fs.mkdirSync(dir, { recursive: true });
  const base = resultsBase(dir, name, info.date, quick);
  const written = [`${base}.md`, `${base}.json`];
  const markdown = files.markdown.join('\n').replaceAll(CHART_FILE, `${path.basename(base)}.svg`);
  fs.writeFileSync(`${base}.md`, `${markdown}\n`);
  fs.writeFileSync(`${base}.json`, `${compactJson({ bench: name, ...info, quick, ...files.json })}\n`);
  if (files.svg !== undefined) {
    fs.writeFileSync(`${base}.svg`, files.svg);
    written.push(`${base}.svg`);
  }
  return written;
}

/** JSON.stringify replacer: fractions keep two digits past their integer part (at least three significant), so the file stays small and diffable. */
export function compactNumbers(_key: string, value: unknown): unknown {
  if (typeof value !== 'number' || Number.isInteger(value) || !Number.isFinite(value)) return value;
  return Number(value.toPrecision(Math.max(3, Math.ceil(Math.log10(Math.abs(value) + 1)) + 2)));
}

/** Indented JSON with rounded numbers (compactNumbers), each array of numbers on one line. */
export function compactJson(value: unknown): string {
  return JSON.stringify(value, compactNumbers, 1).replace(
    /\[\s*([^[\]{}"]*?)\s*\]/g,
    (_all, inner: string) => `[${inner.split(/,\s*/).join(', ')}]`,
  );
}

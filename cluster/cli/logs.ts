// `npm run logs [-- [name ...] [-n LINES] [--no-follow] [--json]]`: the last lines of every log in
// .stack/logs/ (each worker's own rotated log, what pm2 captured of it, HAProxy's, the database's), then
// follows them across rotations, in a readable form (cluster/log-format.ts). `name` keeps the files
// whose name contains it (`npm run logs -- worker-8000`); --json prints the lines as they are.
import path from 'node:path';
import { loadDotEnv } from '../env-file';
import { formatLogLine } from '../log-format';
import { LogFollower } from '../log-follow';
import { PROJECT_ROOT } from '../settings';

// Before anything reads a setting: the project's .env, shell values winning (cluster/env-file.ts).
loadDotEnv();

const POLL_MS = 250;

interface Args {
  names: string[];
  lines: number;
  follow: boolean;
  json: boolean;
}

function parseArgs(argv: string[]): Args {
  const args: Args = { names: [], lines: 10, follow: true, json: false };
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i]!;
    if (arg === '--no-follow') args.follow = false;
    else if (arg === '--json') args.json = true;
    else if (arg === '-n' || arg === '--lines') {
      const value = Number(argv[(i += 1)]);
      if (!Number.isInteger(value) || value < 0)
        throw new Error(`${arg} takes a whole number of lines, got "${argv[i] ?? ''}".`);
      args.lines = value;
    } else if (arg.startsWith('-')) {
      throw new Error(`Unknown option ${arg}. Usage: npm run logs -- [name ...] [-n LINES] [--no-follow] [--json]`);
    } else {
      args.names.push(arg);
    }
  }
  return args;
}

function main(): void {
  const args = parseArgs(process.argv.slice(2));
  // The state folder as cluster/settings.ts resolves it, without the rest of the stack's settings.
  const dir = path.join(path.resolve(PROJECT_ROOT, process.env.STACK_DIR || '.stack'), 'logs');
  const color = process.stdout.isTTY === true && !process.env.NO_COLOR;
  const follower = new LogFollower(dir, {
    tailLines: args.lines,
    include: (file) => args.names.length === 0 || args.names.some((name) => file.includes(name)),
    onLine: (file, line) => {
      if (args.json) {
        process.stdout.write(`${line}\n`);
        return;
      }
      const pm2Capture = file.endsWith('.pm2.log');
      const app = file.replace(/(\.pm2)?\.log$/, '');
      const shown = formatLogLine(app, line, { color }, { pm2Capture });
      if (shown !== undefined) process.stdout.write(`${shown}\n`);
    },
  });
  follower.poll();
  if (!args.follow) {
    follower.close();
    return;
  }
  const timer = setInterval(() => follower.poll(), POLL_MS);
  const stop = () => {
    clearInterval(timer);
    follower.close();
    process.exit(0);
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  // `npm run logs | head` closes the pipe: stop quietly.
  process.stdout.on('error', stop);
}

try {
  main();
} catch (error) {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
}

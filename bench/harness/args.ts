// The benches' command line: `--name N` for every number in `defaults` (a positive number), `--name TEXT`
// for every string, and `--name` alone for every boolean (it sets the opposite of its default, e.g.
// `--no-post`). Anything else is refused with the list of known options.
export function parseArgs<T extends Record<string, number | boolean | string>>(argv: string[], defaults: T): T {
  const parsed: Record<string, number | boolean | string> = { ...defaults };
  const known = Object.entries(defaults).map(([name, value]) => {
    if (typeof value === 'number') return `--${name} N`;
    return typeof value === 'string' ? `--${name} TEXT` : `--${name}`;
  });
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const name = arg.replace(/^--/, '');
    const fallback = arg.startsWith('--') ? defaults[name] : undefined;
    if (typeof fallback === 'number') {
      const n = Number(argv[++i]);
      if (!(n > 0)) throw new Error(`${arg} needs a positive number`);
      parsed[name] = n;
    } else if (typeof fallback === 'string') {
      const text = argv[++i];
      if (text === undefined || text === '') throw new Error(`${arg} needs a value`);
      parsed[name] = text;
    } else if (typeof fallback === 'boolean') {
      parsed[name] = !fallback;
    } else {
      throw new Error(`Unknown option ${arg} (known: ${known.join(', ')})`);
    }
  }
  return parsed as T;
}

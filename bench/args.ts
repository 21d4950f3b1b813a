// The benches' command line: `--name N` for every number in `defaults` (a positive number) and `--name`
// alone for every boolean (it sets the opposite of its default, e.g. `--no-post`). Anything else is
// refused with the list of known options.
export function parseArgs<T extends Record<string, number | boolean>>(argv: string[], defaults: T): T {
  const parsed: Record<string, number | boolean> = { ...defaults };
  const known = Object.entries(defaults).map(([name, value]) => (typeof value === 'number' ? `--${name} N` : `--${name}`));
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const name = arg.replace(/^--/, '');
    const fallback = arg.startsWith('--') ? defaults[name] : undefined;
    if (typeof fallback === 'number') {
      const n = Number(argv[++i]);
      if (!(n > 0)) throw new Error(`${arg} needs a positive number`);
      parsed[name] = n;
    } else if (typeof fallback === 'boolean') {
      parsed[name] = !fallback;
    } else {
      throw new Error(`Unknown option ${arg} (known: ${known.join(', ')})`);
    }
  }
  return parsed as T;
}

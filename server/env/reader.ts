// The one reader of settings from environment variables, for the worker (server/config.ts) and the stack
// (cluster/settings.ts) alike: one wording for every problem, and every problem collected rather than
// thrown, so a caller reports the whole list at once. It imports nothing of the project, so the worker's
// build (server/ only) and cluster/ share it without server/ ever importing cluster/.

export type Env = Record<string, string | undefined>;

export class EnvReader {
  readonly problems: string[] = [];
  /** Every variable asked for and the default given for it (compared with the schema by a unit test). */
  readonly asked = new Map<string, string>();

  constructor(private readonly env: Env) {}

  /** The raw value, or undefined when the variable is unset or empty (an empty value means "the default"). */
  raw(name: string): string | undefined {
    const value = this.env[name];
    return value === undefined || value === '' ? undefined : value;
  }

  string(name: string, fallback: string): string {
    this.asked.set(name, fallback);
    return this.raw(name) ?? fallback;
  }

  /** A whole number from min to max (no upper bound when max is left out); the fallback when unset. */
  int(name: string, fallback: number, min: number, max = Infinity): number {
    this.asked.set(name, String(fallback));
    const raw = this.raw(name);
    if (raw === undefined) return fallback;
    const value = /^\d+$/.test(raw.trim()) ? Number(raw.trim()) : NaN;
    if (!(value >= min && value <= max)) {
      const range = max === Infinity ? `of at least ${min}` : `from ${min} to ${max}`;
      this.problems.push(`${name} must be a whole number ${range}, got "${raw}".`);
      return fallback;
    }
    return value;
  }

  /** A TCP port, 1 to 65535. */
  port(name: string, fallback: number): number {
    return this.int(name, fallback, 1, 65535);
  }

  /** 1/0/true/false, nothing else: a typo such as "off" is reported rather than read as either. */
  flag(name: string, fallback: boolean): boolean {
    this.asked.set(name, fallback ? '1' : '0');
    const raw = this.raw(name);
    if (raw === undefined) return fallback;
    const value = raw.trim().toLowerCase();
    if (value === '1' || value === 'true') return true;
    if (value === '0' || value === 'false') return false;
    this.problems.push(`${name} must be 1, 0, true or false, got "${raw}".`);
    return fallback;
  }

  /** A comma-separated list of distinct TCP ports, at least one. */
  portList(name: string, fallback: string): number[] {
    const raw = this.string(name, fallback);
    const parts = raw
      .split(',')
      .map((p) => p.trim())
      .filter((p) => p !== '');
    const ports: number[] = [];
    for (const part of parts) {
      const value = /^\d+$/.test(part) ? Number(part) : NaN;
      if (!(value >= 1 && value <= 65535)) {
        this.problems.push(`${name} must be a comma-separated list of TCP ports, got "${part}".`);
      } else if (ports.includes(value)) {
        this.problems.push(`${name} lists port ${value} twice.`);
      } else {
        ports.push(value);
      }
    }
    if (parts.length === 0) this.problems.push(`${name} must list at least one port.`);
    return ports;
  }

  /** One of the values listed; the fallback when unset. */
  oneOf<T extends string>(name: string, fallback: T, values: readonly T[]): T {
    this.asked.set(name, fallback);
    const raw = this.raw(name)?.trim();
    if (raw === undefined || raw === '') return fallback;
    if ((values as readonly string[]).includes(raw)) return raw as T;
    this.problems.push(`${name} must be ${values.slice(0, -1).join(', ')} or ${values.at(-1)}, got "${raw}".`);
    return fallback;
  }
}

// The schema of a setting read from the environment: its name, its default as `.env` would spell it,
// one line of meaning and the part of the stack it belongs to. The worker's settings
// (server/env/worker-settings.ts) and the stack's (cluster/settings-schema.ts) are each a list of these;
// the committed `.env.example` is generated from both (cluster/env-example.ts), and a unit test checks
// that every variable the parsers read is listed here with the default they use.

export type SettingPart = 'stack' | 'database' | 'haproxy' | 'workers' | 'galera' | 'monitoring';

export interface SettingSchema {
  name: string;
  /** The default as a `.env` line would give it; '' when there is none (unset, or worked out, see meaning). */
  default: string;
  /** One line: what the setting means, and its unit or allowed values. */
  meaning: string;
  part: SettingPart;
  /** Set by the stack for each worker it starts: listed, but not for a `.env`. */
  perWorker?: true;
}

// A password setting given either as NAME (the value itself) or as NAME_FILE (the path of a file whose
// first line is the value, e.g. the stack's 0600 <stateDir>/secrets/db-password). The file form keeps the
// value out of pm2's stored environment (`pm2 env`, `pm2 jlist`, its dump file), which holds NAME verbatim.
// An empty value counts as unset: no account of the stack may log in without a password.
import fs from 'node:fs';

export interface PasswordSetting {
  value: string;
  /** The file the value was read from, when it came from NAME_FILE. */
  file?: string;
}

type Env = Record<string, string | undefined>;

/** The setting, or undefined when neither form is set; what is wrong goes to `problems` (never the value). */
export function readPasswordSetting(env: Env, name: string, problems: string[]): PasswordSetting | undefined {
  const value = env[name] ?? '';
  const file = env[`${name}_FILE`] ?? '';
  if (value !== '' && file !== '') {
    problems.push(`${name} and ${name}_FILE are both set; set one of them.`);
    return undefined;
  }
  if (value !== '') return { value };
  if (file === '') return undefined;
  let content: string;
  try {
    content = fs.readFileSync(file, 'utf8').split(/\r?\n/)[0]!;
  } catch (error) {
    problems.push(`${name}_FILE ${file} cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'}).`);
    return undefined;
  }
  if (content === '') {
    problems.push(`${name}_FILE ${file} is empty; its first line must be the password.`);
    return undefined;
  }
  return { value: content, file };
}

/** The value of a setting that must be given; when it is not, a problem says so and '' stands in. */
export function requirePasswordSetting(env: Env, name: string, problems: string[]): string {
  const known = problems.length;
  const setting = readPasswordSetting(env, name, problems);
  if (setting) return setting.value;
  // Unless readPasswordSetting already said what is wrong with the one given.
  if (problems.length === known) problems.push(`${name}_FILE (or ${name}) must be set: the account has a password.`);
  return '';
}

// The passwords of the embedded stack's accounts: generated once, one per file under <stateDir>/secrets/
// (folder 0700, files 0600), and read from there by every command afterwards, so no password is a
// constant in the source and none has to travel through pm2's stored environment (the workers are given
// the file's path, DB_PASSWORD_FILE, not its content). Reading the settings only reads these files
// (stackPassword); provisionSecrets, called by the command that prepares the state folder
// (prepareStateDir), is the one place that creates them.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { readPasswordSetting, type PasswordSetting } from '../server/password-setting';
import type { StackSettings } from './settings';

export const SECRET_NAMES = {
  /** The app account's password (DB_PASSWORD). */
  app: 'db-password',
  /** mysqld-exporter's account's password (DB_EXPORTER_PASSWORD). */
  exporter: 'db-exporter-password',
  /** The Galera health agent's USAGE-only account (GALERA_CHECK_PASSWORD). */
  galeraCheck: 'galera-check-password',
} as const;

export type SecretName = keyof typeof SECRET_NAMES;

export function secretsDir(stateDir: string): string {
  return path.join(stateDir, 'secrets');
}

export function secretFile(stateDir: string, name: SecretName): string {
  return path.join(secretsDir(stateDir), SECRET_NAMES[name]);
}

/** A password of 32 characters from [A-Za-z0-9_-]: safe in a my.cnf, a URL or a shell word. */
export function generatePassword(): string {
  return randomBytes(24).toString('base64url');
}

/**
 * The secret in `<stateDir>/secrets/<name>`, created first when missing. Creation is atomic: the value
 * is written to a private temporary file and hard-linked into place, which fails if another process
 * (pm2 loading ecosystem.config.js beside `npm start`) got there first; then its value is the one read.
 */
export function ensureSecret(stateDir: string, name: SecretName): string {
  const file = secretFile(stateDir, name);
  fs.mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  fs.mkdirSync(secretsDir(stateDir), { recursive: true, mode: 0o700 });
  if (!fs.existsSync(file)) {
    const staging = `${file}.${process.pid}.tmp`;
    fs.writeFileSync(staging, `${generatePassword()}\n`, { mode: 0o600 });
    try {
      fs.linkSync(staging, file);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    } finally {
      fs.rmSync(staging, { force: true });
    }
  }
  return fs.readFileSync(file, 'utf8').split('\n')[0]!;
}

/** A password the stack generates for its own database: which one, and the file it lives in. */
export interface GeneratedSecret {
  name: SecretName;
  file: string;
}

/** The first line of a generated secret's file, or '' when it does not exist yet. */
function readSecret(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8').split('\n')[0]!;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return '';
    throw error;
  }
}

/**
 * Where a password of the stack comes from: NAME or NAME_FILE when set (an override, or an external
 * server's account); otherwise, for the stack's own database (`generate`), the generated secret, read
 * if it exists ('' until provisionSecrets creates it) and listed in `generated`; for an external
 * MYSQL_HOST, nowhere: a problem, rather than a default anyone could read in the source. Writes nothing.
 */
export function stackPassword(
  env: Record<string, string | undefined>,
  variable: string,
  secret: SecretName,
  where: { generate: boolean; stateDir: string },
  problems: string[],
  generated: GeneratedSecret[],
): PasswordSetting {
  const known = problems.length;
  const given = readPasswordSetting(env, variable, problems);
  if (given) return given;
  if (problems.length > known) return { value: '' };
  if (where.generate) {
    const file = secretFile(where.stateDir, secret);
    generated.push({ name: secret, file });
    return { value: readSecret(file), file };
  }
  problems.push(
    `MYSQL_HOST is set, so ${variable} (or ${variable}_FILE) must be set: the stack generates passwords ` +
      'only for its embedded MariaDB and never runs an external one on a default.',
  );
  return { value: '' };
}

/**
 * Creates the generated passwords the settings name that do not exist yet, and returns the settings with
 * their values. Called by prepareStateDir (npm start, npm run reload, a bare `pm2 start
 * ecosystem.config.js`); the test support calls it for the stacks it builds by hand.
 */
export function provisionSecrets<S extends StackSettings>(settings: S): S {
  const value = (name: SecretName, current: string) =>
    settings.generatedSecrets.some((secret) => secret.name === name) ? ensureSecret(settings.stateDir, name) : current;
  return {
    ...settings,
    database: { ...settings.database, appPassword: value('app', settings.database.appPassword) },
    monitoring: { ...settings.monitoring, exporterPassword: value('exporter', settings.monitoring.exporterPassword) },
    galera: { ...settings.galera, checkPassword: value('galeraCheck', settings.galera.checkPassword) },
  };
}

/** Throws, naming the files, when a generated password the settings need has not been created yet. */
export function requireProvisionedSecrets(settings: StackSettings): void {
  const missing = settings.generatedSecrets.filter((secret) => !fs.existsSync(secret.file)).map((s) => s.file);
  if (missing.length > 0)
    throw new Error(
      `The stack's generated passwords do not exist yet (${missing.join(', ')}): \`npm start\` creates them.`,
    );
}

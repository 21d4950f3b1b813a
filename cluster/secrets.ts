// The passwords of the embedded stack's accounts: generated on first use, one per file under
// <stateDir>/secrets/ (folder 0700, files 0600), and read from there by every command afterwards, so
// no password is a constant in the source and none has to travel through pm2's stored environment
// (the workers are given the file's path, DB_PASSWORD_FILE, not its content).
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { readPasswordSetting, type PasswordSetting } from '../server/password-setting';

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

/**
 * Where a password of the stack comes from: NAME or NAME_FILE when set (an override, or an external
 * server's account); otherwise, for the embedded MariaDB, the generated secret; for an external
 * MYSQL_HOST, nowhere: a problem, rather than a default anyone could read in the source.
 */
export function resolveStackPassword(
  env: Record<string, string | undefined>,
  variable: string,
  secret: SecretName,
  where: { embeddedDb: boolean; stateDir: string },
  problems: string[],
): PasswordSetting {
  const known = problems.length;
  const given = readPasswordSetting(env, variable, problems);
  if (given) return given;
  if (problems.length > known) return { value: '' };
  if (where.embeddedDb)
    return { value: ensureSecret(where.stateDir, secret), file: secretFile(where.stateDir, secret) };
  problems.push(
    `MYSQL_HOST is set, so ${variable} (or ${variable}_FILE) must be set: the stack generates passwords ` +
      'only for its embedded MariaDB and never runs an external one on a default.',
  );
  return { value: '' };
}

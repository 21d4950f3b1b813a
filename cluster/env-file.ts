// The project's `.env`: every command (cluster/cli/*, ecosystem.config.js, the benches) calls loadDotEnv()
// first, so a stack started with settings in `.env` is listed, reloaded and stopped by the bare commands.
// Node's own parser (process.loadEnvFile) reads it; a variable already set in the environment, even to
// '', is left as it is (checked by experiment on Node 20.20: loadEnvFile never overrides), so the shell
// always wins. `.env.example` lists every setting (npm run env:example writes it from the schema).
import fs from 'node:fs';
import path from 'node:path';
import { PROJECT_ROOT } from './settings';

/** STACK_ENV_FILE names another file (a test's, or a second stack's); relative to the project root. */
export const ENV_FILE_VARIABLE = 'STACK_ENV_FILE';

/** The file loadDotEnv reads: STACK_ENV_FILE, or `.env` in the project root. */
export function dotEnvPath(env: NodeJS.ProcessEnv = process.env): string {
  return path.resolve(PROJECT_ROOT, env[ENV_FILE_VARIABLE] || '.env');
}

/**
 * Adds the file's variables to process.env, those not set already; returns the file read, or undefined
 * when there is none (a `.env` is optional; a STACK_ENV_FILE that does not exist ends the command).
 */
export function loadDotEnv(): string | undefined {
  const file = dotEnvPath();
  if (!fs.existsSync(file)) {
    if (!process.env[ENV_FILE_VARIABLE]) return undefined;
    console.error(`${ENV_FILE_VARIABLE} names ${file}, which does not exist.`);
    process.exit(1);
  }
  process.loadEnvFile(file);
  return file;
}

// Owner-only permissions for everything the stack keeps on disk: folders 0700, everything else (files,
// the MariaDB socket) 0600. Applied to the whole state folder on every start, which also tightens one an
// earlier version created world-readable; the processes themselves run with umask 077 (and mariadbd with
// its own UMASK settings), so what they create later is born private.
import fs from 'node:fs';
import path from 'node:path';

export const PRIVATE_UMASK = 0o077;

/** chmods `target` and, when a folder, everything below it; symbolic links are left alone. */
export function makePrivate(target: string): void {
  let stat: fs.Stats;
  try {
    stat = fs.lstatSync(target);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return; // gone meanwhile (a temp file)
    throw error;
  }
  if (stat.isSymbolicLink()) return;
  if (!stat.isDirectory()) {
    if ((stat.mode & 0o777) !== 0o600) chmodIfPresent(target, 0o600);
    return;
  }
  if ((stat.mode & 0o777) !== 0o700) chmodIfPresent(target, 0o700);
  let names: string[];
  try {
    names = fs.readdirSync(target);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw error;
  }
  for (const name of names) makePrivate(path.join(target, name));
}

function chmodIfPresent(target: string, mode: number): void {
  try {
    fs.chmodSync(target, mode);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
}

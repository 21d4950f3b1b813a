// A worker that starts before the database (pm2 starts everything at once) keeps retrying with capped
// exponential backoff instead of crashing; it reports 'ready' only once its pool reaches the database
// through HAProxy and the schema has the newest migration (see schema.ts).
import type { Db } from '../db/db';

export function backoffDelayMs(attempt: number, baseMs = 200, capMs = 5000): number {
  return Math.min(capMs, baseMs * 2 ** Math.max(0, attempt - 1));
}

export async function waitForDatabase(
  db: Db,
  latestMigration: string,
  onRetry: (attempt: number, error: string, delayMs: number) => void,
): Promise<void> {
  for (let attempt = 1; ; attempt += 1) {
    let problem: string;
    try {
      const rows = await db.query<{ n: number }[]>(
        'ping',
        'SELECT COUNT(*) AS n FROM schema_migrations WHERE name = ?',
        [latestMigration],
        { timeoutMs: 2000 },
      );
      if (Number(rows[0]?.n) === 1) return;
      problem = `migration ${latestMigration} is not applied yet (npm run db:migrate applies it to an external database)`;
    } catch (error) {
      problem = error instanceof Error ? error.message : String(error);
    }
    const delayMs = backoffDelayMs(attempt);
    onRetry(attempt, problem, delayMs);
    await new Promise((resolve) => setTimeout(resolve, delayMs));
  }
}

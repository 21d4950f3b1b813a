// A worker that starts before the database (pm2 starts everything at once) keeps retrying with capped
// exponential backoff instead of crashing; it reports 'ready' only once SELECT 1 answers through the pool.
import type { Db } from '../db/db';

export function backoffDelayMs(attempt: number, baseMs = 200, capMs = 5000): number {
  return Math.min(capMs, baseMs * 2 ** Math.max(0, attempt - 1));
}

export async function waitForDatabase(
  db: Db,
  onRetry: (attempt: number, error: string, delayMs: number) => void,
): Promise<void> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      await db.query('ping', 'SELECT 1', [], { timeoutMs: 2000 });
      return;
    } catch (error) {
      const delayMs = backoffDelayMs(attempt);
      onRetry(attempt, error instanceof Error ? error.message : String(error), delayMs);
      await new Promise((resolve) => setTimeout(resolve, delayMs));
    }
  }
}

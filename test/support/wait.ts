// Polling for a condition that another process brings about (a socket closing, a proxy coming back).
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Calls `probe` every `everyMs` until it returns something other than undefined, and returns that.
 * Throws after `timeoutMs`, naming `what` and the last error the probe threw, if any.
 */
export async function waitFor<T>(
  what: string,
  probe: () => T | undefined | Promise<T | undefined>,
  timeoutMs: number,
  everyMs = 25,
): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      lastError = error;
    }
    if (performance.now() >= deadline) {
      const reason = lastError instanceof Error ? ` (last error: ${lastError.message})` : '';
      throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}${reason}.`);
    }
    await sleep(everyMs);
  }
}

// Counters for Idempotency-Key outcomes that wrote nothing: replays (a retry whose write was already
// done) and refusals (key reused for another request, or still in use). Counted where the answer is made.
import { Counter, type Registry } from 'prom-client';
import { METRIC } from './names';

export interface IdempotencyMetrics {
  replayed(): void;
  refused(reason: 'mismatch' | 'in_use'): void;
}

export function registerIdempotencyMetrics(registry: Registry): IdempotencyMetrics {
  const replays = new Counter({
    name: METRIC.idempotencyReplays,
    help: 'Writes answered from a stored Idempotency-Key answer (Idempotent-Replayed: true); nothing was written.',
    registers: [registry],
  });
  const refusals = new Counter({
    name: METRIC.idempotencyRefusals,
    help: 'Keyed writes refused: reason="mismatch" (422, key used for another request), "in_use" (409, its request still runs).',
    labelNames: ['reason'],
    registers: [registry],
  });
  // Both reasons exported from the start, so rate() sees a 0 before the first refusal.
  for (const reason of ['mismatch', 'in_use']) refusals.inc({ reason }, 0);
  return {
    replayed: () => replays.inc(),
    refused: (reason) => refusals.inc({ reason }),
  };
}

/** For a worker with METRICS=0: counts nothing. */
export const silentIdempotencyMetrics: IdempotencyMetrics = {
  replayed: () => undefined,
  refused: () => undefined,
};

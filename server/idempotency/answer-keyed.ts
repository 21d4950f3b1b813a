// The HTTP side of a keyed write's outcome: the stored answer (marked when replayed), or the two
// refusals of the Idempotency-Key draft: 422 for a key reused with another request, 409 while the
// request that holds the key is still running.
import type { Context } from 'koa';
import { respond } from '../http/answer';
import { HttpError } from '../http/errors';
import type { IdempotencyMetrics } from '../metrics/idempotency-metrics';
import type { KeyedWrite } from './store';

export const REPLAYED_HEADER = 'Idempotent-Replayed';

export function answerKeyedWrite(ctx: Context, outcome: KeyedWrite, metrics: IdempotencyMetrics): void {
  switch (outcome.kind) {
    case 'done':
      respond(ctx, outcome.response);
      return;
    case 'replayed':
      metrics.replayed();
      respond(ctx, outcome.response, { [REPLAYED_HEADER]: 'true' });
      return;
    case 'mismatch':
      metrics.refused('mismatch');
      throw new HttpError(
        422,
        'idempotency_key_mismatch',
        'This Idempotency-Key was already used for a different request (method, path, If-Match or body); nothing was written. Use a new key for a new request.',
      );
    case 'in_use':
      metrics.refused('in_use');
      throw new HttpError(
        409,
        'idempotency_key_in_use',
        'A request with this Idempotency-Key is still being processed; nothing was written. Retry shortly with the same key to get its answer.',
        { 'Retry-After': '1' },
      );
  }
}

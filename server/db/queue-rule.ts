// The wait queue's rule, in one place (docs/pool.md, "What the queue bounds"). The Gate applies it; the
// pool feeds it what it measured. Pure: no timers, no I/O, no clock of its own.
//
// A waiting statement costs everyone behind it its service time (how long it holds the connection). The
// queue bounds that wait, not a head count:
// - a statement of a kind measured *fast* on this worker (its recent service time, an EWMA over the
//   kind's last completions, is within the fast budget) is bounded only by DB_QUEUE_LIMIT: a queue full
//   of them still drains within DB_ACQUIRE_TIMEOUT_MS, since the budget is DB_ACQUIRE_TIMEOUT_MS /
//   DB_QUEUE_LIMIT (10 ms with the defaults);
// - every other statement (slow, or of a kind not yet measured: a first /sleep burst) counts against
//   DB_QUEUE_STATEMENT_LIMIT, as every statement did before: the 51st is refused at once;
// - while the running statement has held the connection longer than STALL_FACTOR fast budgets (the
//   server or the proxy stalls), every waiting statement counts as slow: the measured past says nothing
//   about the present, and the queue refuses at DB_QUEUE_STATEMENT_LIMIT again;
// - DB_QUEUE_LIMIT bounds the requests in all (each holds a client and its memory), statements and the
//   requests sharing them (identical or coalesced reads) alike.

/**
 * Which bound refused a `queue_full`: too many requests waiting (each holds a client and its memory), or
 * too many statements of slow or unknown cost waiting (each one more long wait for everyone behind it).
 */
export type QueueBound = 'requests' | 'statements';

export interface QueueLimits {
  /** Requests that may wait, counting those that share a waiting statement (DB_QUEUE_LIMIT). */
  queueLimit: number;
  /** Statements of slow or unknown cost that may wait (DB_QUEUE_STATEMENT_LIMIT); at most queueLimit. */
  statementLimit?: number;
}

/**
 * May one more request wait, given `waiting` statements (each with its own turn), `fastWaiting` of them
 * of a kind measured fast (0 when the running statement stalls), and `joined` requests sharing those
 * turns? Returns the bound it would break, or undefined. `shares`: the newcomer shares a waiting
 * statement's turn (an identical or coalesced read), so it adds a request but no statement. The request
 * bound is checked first: where both are the same number (statementLimit unset), a refusal reads as it
 * always did. A newcomer of a fast kind is refused too once the slow ones fill their bound: the wait
 * ahead of it is what is bounded.
 */
export function admission(
  waiting: number,
  joined: number,
  options: QueueLimits,
  shares = false,
  fastWaiting = 0,
): QueueBound | undefined {
  if (waiting + joined >= options.queueLimit) return 'requests';
  if (shares) return undefined;
  const slowWaiting = waiting - Math.min(fastWaiting, waiting);
  if (slowWaiting >= statementLimitOf(options)) return 'statements';
  return undefined;
}

export function statementLimitOf(options: QueueLimits): number {
  return Math.min(options.statementLimit ?? options.queueLimit, options.queueLimit);
}

/**
 * The most service time a statement kind may take and count as fast: a queue of DB_QUEUE_LIMIT such
 * statements drains within DB_ACQUIRE_TIMEOUT_MS. 0 (nothing is fast) when the queue holds nobody.
 */
export function fastBudgetMs(options: { queueLimit: number; acquireTimeoutMs: number }): number {
  return options.queueLimit > 0 ? options.acquireTimeoutMs / options.queueLimit : 0;
}

/** The running statement stalls once it has held the connection this many fast budgets (100 ms by default). */
export const STALL_FACTOR = 10;

/** Whether a statement that has held the connection `heldMs` stalls the queue (see STALL_FACTOR). */
export function stalls(heldMs: number, budgetMs: number): boolean {
  return heldMs > budgetMs * STALL_FACTOR;
}

/** Weight of the newest sample in a kind's EWMA: about the last 4 statements of the kind dominate. */
export const EWMA_WEIGHT = 0.25;

/**
 * Recent service time per statement kind (the query's name), an exponentially weighted moving average of
 * how long each statement held the connection. A kind never measured is not fast. Bounded by the
 * number of query names in the code.
 */
export class ServiceTimes {
  private readonly ewmaMs = new Map<string, number>();

  constructor(private readonly budgetMs: number) {}

  observe(kind: string, heldMs: number): void {
    const previous = this.ewmaMs.get(kind);
    this.ewmaMs.set(kind, previous === undefined ? heldMs : previous + EWMA_WEIGHT * (heldMs - previous));
  }

  /** The kind's recent service time in ms, or undefined if none of its statements finished yet. */
  estimateMs(kind: string): number | undefined {
    return this.ewmaMs.get(kind);
  }

  isFast(kind: string | undefined): boolean {
    if (kind === undefined) return false;
    const estimate = this.ewmaMs.get(kind);
    return estimate !== undefined && estimate <= this.budgetMs;
  }
}

// A counting semaphore with a bounded wait queue and a bounded wait time: the part of the pool that
// mysql2 lacks (its pool queue has no acquire timeout and no public length). The queue has two bounds
// (admission() in queue-rule.ts): the requests waiting, and the statements waiting, where the requests that share a
// waiter's turn (read batching, coalesced reads) add a request but no statement. At most `limit` holders at
// once; when a holder leaves and someone waits, the slot is handed straight to the oldest waiter, so the
// number of holders never dips in between (which is what event-counting the mysql2 pool gets wrong).
// The leaving holder may pass what it held (the pool's connection) along with the slot, and a waiter may
// ask to be told synchronously (wait()): the pool hands its connection to the next statement and that
// statement is sent within the releasing call, with no promise or event-loop turn in between.

import { admission, type QueueBound, statementLimitOf } from './queue-rule';
import type { CancelSignal } from './cancel-signal';

export { admission, type QueueBound } from './queue-rule';

const MAX_TIMER_MS = 2 ** 31 - 1;

/** `cancelled`: the caller's signal fired while it waited (its HTTP client went away). */
export type RejectReason = 'queue_full' | 'timeout' | 'closed' | 'cancelled';

export class GateRejectedError extends Error {
  constructor(
    readonly reason: RejectReason,
    message: string,
    readonly bound?: QueueBound,
  ) {
    super(message);
    this.name = 'GateRejectedError';
  }
}

export interface GateOptions {
  limit: number;
  /**
   * Requests allowed to wait at once beyond the holders, counting those that share a waiter's turn
   * (join()); one more is refused at once with `queue_full`.
   */
  queueLimit: number;
  /**
   * Waiters (statements: a turn of its own each) of slow or unknown cost allowed at once; one more is
   * refused at once with `queue_full`. Waiters that entered as fast (wait()'s `fast`) count only against
   * queueLimit, unless `stalled()` says the running statement holds on (server/db/queue-rule.ts).
   * Default and at most: queueLimit.
   */
  statementLimit?: number;
  /** Whether the running statement has held the slot so long that no waiter counts as fast. */
  stalled?: () => boolean;
  /** How long a waiter may wait for a slot before it is refused with `timeout`. */
  waitTimeoutMs: number;
}

interface Waiter<H> {
  grant: (handoff: H | undefined) => void;
  refuse: (error: GateRejectedError) => void;
  timer: NodeJS.Timeout;
  fast: boolean;
}

export class Gate<H = void> {
  private holders = 0;
  private readonly waiters: Waiter<H>[] = [];
  /** Requests that wait without a place of their own in `waiters` (see join()). */
  private joinedCount = 0;
  /** Waiters that entered as fast (see GateOptions.statementLimit). */
  private fastCount = 0;
  private closed = false;

  constructor(private readonly options: GateOptions) {
    // Whole numbers only: a limit of 1.5 would admit two holders. setTimeout fires after 1 ms for
    // anything above 2^31-1 ms, so a longer wait would time every waiter out at once.
    if (!(Number.isInteger(options.limit) && options.limit >= 1)) {
      throw new TypeError('Gate limit must be a whole number of at least 1.');
    }
    if (!(Number.isInteger(options.queueLimit) && options.queueLimit >= 0)) {
      throw new TypeError('Gate queueLimit must be a whole number, 0 or more.');
    }
    if (
      options.statementLimit !== undefined &&
      !(Number.isInteger(options.statementLimit) && options.statementLimit >= 0)
    ) {
      throw new TypeError('Gate statementLimit must be a whole number, 0 or more.');
    }
    if (!(options.waitTimeoutMs >= 1 && options.waitTimeoutMs <= MAX_TIMER_MS)) {
      throw new TypeError(`Gate waitTimeoutMs must be from 1 to ${MAX_TIMER_MS} (what setTimeout accepts).`);
    }
  }

  get holding(): number {
    return this.holders;
  }

  get waiting(): number {
    return this.waiters.length;
  }

  /** Requests waiting on another waiter's turn (join()); not in `waiting`. */
  get joined(): number {
    return this.joinedCount;
  }

  get limit(): number {
    return this.options.limit;
  }

  /**
   * Resolves once the caller holds a slot (with what the previous holder handed over, if anything); the
   * caller must call `leave()` exactly once afterwards. A waiter whose `signal` aborts leaves the queue at
   * once, so a request nobody awaits any more never takes the connection from one somebody does.
   */
  enter(signal?: CancelSignal): Promise<H | undefined> {
    return new Promise<H | undefined>((resolve, reject) => this.wait(signal, resolve, reject));
  }

  /**
   * enter() with callbacks: `granted` runs synchronously when the slot is free now, or inside the
   * leave() that hands it over; `refused` runs at most once, instead of `granted`.
   */
  wait(
    signal: CancelSignal | undefined,
    granted: (handoff: H | undefined) => void,
    refused: (error: GateRejectedError) => void,
    fast = false,
  ): void {
    if (this.closed) return refused(new GateRejectedError('closed', 'The pool is closed.'));
    if (signal?.aborted) return refused(cancelled());
    if (this.holders < this.options.limit && this.waiters.length === 0) {
      this.holders += 1;
      return granted(undefined);
    }
    const full = admission(this.waiters.length, this.joinedCount, this.options, false, this.fastWaiting());
    if (full) return refused(this.queueFull(full));
    const onAbort = () => {
      this.remove(waiter);
      waiter.refuse(cancelled());
    };
    const waiter: Waiter<H> = {
      grant: (handoff) => {
        clearTimeout(waiter.timer);
        signal?.removeEventListener('abort', onAbort);
        granted(handoff);
      },
      refuse: (error) => {
        clearTimeout(waiter.timer);
        signal?.removeEventListener('abort', onAbort);
        refused(error);
      },
      timer: setTimeout(() => {
        this.remove(waiter);
        waiter.refuse(
          new GateRejectedError(
            'timeout',
            `No database connection became free within ${this.options.waitTimeoutMs} ms.`,
          ),
        );
      }, this.options.waitTimeoutMs),
      fast,
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    this.waiters.push(waiter);
    if (fast) this.fastCount += 1;
    return undefined;
  }

  /**
   * A request that will be served by a waiter's turn rather than its own (read batching) takes a place in
   * the queue all the same: it counts against queueLimit until unjoin(). Throws queue_full or closed.
   */
  join(): void {
    if (this.closed) throw new GateRejectedError('closed', 'The pool is closed.');
    const full = admission(this.waiters.length, this.joinedCount, this.options, true);
    if (full) throw this.queueFull(full);
    this.joinedCount += 1;
  }

  /** Gives back a place taken by join(). */
  unjoin(): void {
    if (this.joinedCount <= 0) throw new Error('Gate.unjoin() called more often than join().');
    this.joinedCount -= 1;
  }

  /**
   * Gives the slot back: straight to the oldest waiter if there is one, with `handoff`. Returns whether a
   * waiter took it (if not, `handoff` stays the caller's).
   */
  leave(handoff?: H): boolean {
    if (this.holders <= 0) throw new Error('Gate.leave() called more often than enter().');
    const next = this.waiters.shift();
    if (next) {
      if (next.fast) this.fastCount -= 1;
      next.grant(handoff); // the slot changes hands; `holders` is unchanged
      return true;
    }
    this.holders -= 1;
    return false;
  }

  /** Refuses every waiter and every later enter(); current holders may still leave. */
  close(): void {
    this.closed = true;
    this.fastCount = 0;
    for (const waiter of this.waiters.splice(0)) {
      waiter.refuse(new GateRejectedError('closed', 'The pool is closing.'));
    }
  }

  private queueFull(bound: QueueBound): GateRejectedError {
    return bound === 'requests'
      ? new GateRejectedError(
          'queue_full',
          `The connection pool's wait queue is full (${this.options.queueLimit} waiting).`,
          bound,
        )
      : new GateRejectedError(
          'queue_full',
          `The connection pool's wait queue is full (${statementLimitOf(this.options)} statements waiting).`,
          bound,
        );
  }

  private remove(waiter: Waiter<H>): void {
    const index = this.waiters.indexOf(waiter);
    if (index < 0) return;
    this.waiters.splice(index, 1);
    if (waiter.fast) this.fastCount -= 1;
  }

  /** Waiters that count as fast now: none while the running statement stalls. */
  private fastWaiting(): number {
    return this.fastCount > 0 && !this.options.stalled?.() ? this.fastCount : 0;
  }
}

/** The refusal of a caller whose signal fired before it got a connection. */
export function cancelled(): GateRejectedError {
  return new GateRejectedError('cancelled', 'The request was cancelled while it waited for a database connection.');
}

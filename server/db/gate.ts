// A counting semaphore with a bounded wait queue and a bounded wait time: the part of the pool that
// mysql2 lacks (its pool queue has no acquire timeout and no public length). At most `limit` holders at
// once; when a holder leaves and someone waits, the slot is handed straight to the oldest waiter, so the
// number of holders never dips in between (which is what event-counting the mysql2 pool gets wrong).

const MAX_TIMER_MS = 2 ** 31 - 1;

/** `cancelled`: the caller's AbortSignal fired while it waited (its HTTP client went away). */
export type RejectReason = 'queue_full' | 'timeout' | 'closed' | 'cancelled';

export class GateRejectedError extends Error {
  constructor(readonly reason: RejectReason, message: string) {
    super(message);
    this.name = 'GateRejectedError';
  }
}

export interface GateOptions {
  limit: number;
  /** Waiters allowed at once beyond the holders; one more is refused at once with `queue_full`. */
  queueLimit: number;
  /** How long a waiter may wait for a slot before it is refused with `timeout`. */
  waitTimeoutMs: number;
}

interface Waiter {
  grant: () => void;
  refuse: (error: GateRejectedError) => void;
  timer: NodeJS.Timeout;
}

export class Gate {
  private holders = 0;
  private readonly waiters: Waiter[] = [];
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

  get limit(): number {
    return this.options.limit;
  }

  /**
   * Resolves once the caller holds a slot; the caller must call `leave()` exactly once afterwards.
   * A waiter whose `signal` aborts leaves the queue at once, so a request nobody awaits any more never
   * takes the connection from one somebody does.
   */
  enter(signal?: AbortSignal): Promise<void> {
    if (this.closed) return Promise.reject(new GateRejectedError('closed', 'The pool is closed.'));
    if (signal?.aborted) return Promise.reject(cancelled());
    if (this.holders < this.options.limit && this.waiters.length === 0) {
      this.holders += 1;
      return Promise.resolve();
    }
    if (this.waiters.length >= this.options.queueLimit) {
      return Promise.reject(new GateRejectedError('queue_full',
        `The connection pool's wait queue is full (${this.options.queueLimit} waiting).`));
    }
    return new Promise<void>((resolve, reject) => {
      const onAbort = () => {
        this.remove(waiter);
        waiter.refuse(cancelled());
      };
      const waiter: Waiter = {
        grant: () => {
          clearTimeout(waiter.timer);
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
        refuse: (error) => {
          clearTimeout(waiter.timer);
          signal?.removeEventListener('abort', onAbort);
          reject(error);
        },
        timer: setTimeout(() => {
          this.remove(waiter);
          waiter.refuse(new GateRejectedError('timeout',
            `No database connection became free within ${this.options.waitTimeoutMs} ms.`));
        }, this.options.waitTimeoutMs),
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiters.push(waiter);
    });
  }

  /** Gives the slot back: straight to the oldest waiter if there is one. */
  leave(): void {
    if (this.holders <= 0) throw new Error('Gate.leave() called more often than enter().');
    const next = this.waiters.shift();
    if (next) {
      next.grant(); // the slot changes hands; `holders` is unchanged
    } else {
      this.holders -= 1;
    }
  }

  /** Refuses every waiter and every later enter(); current holders may still leave. */
  close(): void {
    this.closed = true;
    for (const waiter of this.waiters.splice(0)) {
      waiter.refuse(new GateRejectedError('closed', 'The pool is closing.'));
    }
  }

  private remove(waiter: Waiter): void {
    const index = this.waiters.indexOf(waiter);
    if (index >= 0) this.waiters.splice(index, 1);
  }
}

/** The refusal of a caller whose AbortSignal fired before it got a connection. */
export function cancelled(): GateRejectedError {
  return new GateRejectedError('cancelled', 'The request was cancelled while it waited for a database connection.');
}

type Waiter = { key: string; grant: (granted: boolean) => void };

/**
 * Admission control for one variant: at most `maxInFlight` holders, at most `maxQueue` waiters, and
 * no waiter waits longer than `maxWaitMs`. Callers try `tryAcquire()` first so the uncontended path
 * allocates no promise.
 *
 * Fair between keys (tenants): a freed slot goes to the oldest waiter of the waiting key that was
 * granted a slot least recently (a key new to the queue first), so a tenant with many requests
 * waiting gets every other turn, not every turn, and another tenant waits for at most one of its
 * calls per turn. A full queue pushes out the newest waiter of the key with the most waiters (it is
 * told busy) to admit a key with fewer, so one tenant filling the queue cannot turn others away.
 * Requests without a key share the key ''.
 */
export class Semaphore {
  #inFlight = 0;
  /** Waiters per key, oldest first; a key is here only while it has waiters. */
  readonly #waiting = new Map<string, Waiter[]>();
  #queued = 0;
  /** Per key that holds or waits for a slot: slots held, and when it was last granted one. */
  readonly #keys = new Map<string, { held: number; lastGrant: number }>();
  #grants = 0;

  constructor(
    readonly maxInFlight: number,
    readonly maxQueue: number,
    readonly maxWaitMs = 10_000,
  ) {
    if (!(maxInFlight >= 1) || !(maxQueue >= 0)) {
      throw new Error(`invalid capacity: maxInFlight ${maxInFlight}, maxQueue ${maxQueue}`);
    }
  }

  get inFlight(): number {
    return this.#inFlight;
  }

  get queued(): number {
    return this.#queued;
  }

  /** How many distinct keys are waiting. */
  get waitingKeys(): number {
    return this.#waiting.size;
  }

  /** True when a call for `key` would be refused at once: no slot, and no queue place it may take. */
  wouldRefuse(key = ''): boolean {
    if (this.#inFlight < this.maxInFlight || this.#queued < this.maxQueue) return false;
    return this.#longestOtherThan(key) === undefined;
  }

  /** Takes a slot if one is free right now. */
  tryAcquire(key = ''): boolean {
    if (this.#inFlight >= this.maxInFlight) return false;
    this.#inFlight++;
    this.#granted(key);
    return true;
  }

  /**
   * Waits for a slot: resolves true once the slot is held, false when the queue is full (or this
   * waiter was pushed out for another key), the wait timed out or `signal` aborted (the caller then
   * owns nothing and must not release).
   */
  acquire(key = '', signal?: AbortSignal): Promise<boolean> {
    if (signal?.aborted) return Promise.resolve(false);
    if (this.tryAcquire(key)) return Promise.resolve(true);
    if (this.#queued >= this.maxQueue) {
      const victim = this.#longestOtherThan(key);
      if (victim === undefined) return Promise.resolve(false);
      const pushedOut = this.#remove(victim, this.#waiting.get(victim)!.at(-1)!);
      pushedOut.grant(false);
    }
    return new Promise<boolean>((resolve) => {
      const leave = () => {
        this.#remove(key, waiter);
        waiter.grant(false);
      };
      const waiter: Waiter = {
        key,
        grant: (granted) => {
          clearTimeout(timer);
          signal?.removeEventListener('abort', leave);
          resolve(granted);
        },
      };
      const timer = setTimeout(leave, this.maxWaitMs);
      timer.unref();
      signal?.addEventListener('abort', leave, { once: true });
      const queue = this.#waiting.get(key);
      if (queue) queue.push(waiter);
      else this.#waiting.set(key, [waiter]);
      this.#queued++;
      if (!this.#keys.has(key)) this.#keys.set(key, { held: 0, lastGrant: -1 });
    });
  }

  /** Frees a slot held for `key`, handing it straight to the next fair waiter if there is one. */
  release(key = ''): void {
    const state = this.#keys.get(key);
    if (state) {
      state.held--;
      this.#forgetIfIdle(key);
    }
    const next = this.#nextKey();
    if (next === undefined) {
      this.#inFlight--;
      return;
    }
    // The slot passes to the waiter as is, so inFlight stays put and nobody can jump the queue.
    const waiter = this.#remove(next, this.#waiting.get(next)![0]!);
    this.#granted(next);
    waiter.grant(true);
  }

  #granted(key: string): void {
    const state = this.#keys.get(key) ?? { held: 0, lastGrant: -1 };
    state.held++;
    state.lastGrant = this.#grants++;
    this.#keys.set(key, state);
  }

  /** The waiting key granted least recently (never granted, or idle since, counts as longest ago). */
  #nextKey(): string | undefined {
    let best: string | undefined;
    let bestGrant = Number.POSITIVE_INFINITY;
    for (const key of this.#waiting.keys()) {
      const lastGrant = this.#keys.get(key)?.lastGrant ?? -1;
      if (lastGrant < bestGrant) {
        best = key;
        bestGrant = lastGrant;
      }
    }
    return best;
  }

  /** The key with the most waiters, if it has more than `key` would have once admitted. */
  #longestOtherThan(key: string): string | undefined {
    const own = (this.#waiting.get(key)?.length ?? 0) + 1;
    let longest: string | undefined;
    let most = own;
    for (const [other, queue] of this.#waiting) {
      if (other !== key && queue.length > most) {
        longest = other;
        most = queue.length;
      }
    }
    return longest;
  }

  #remove(key: string, waiter: Waiter): Waiter {
    const queue = this.#waiting.get(key);
    const index = queue?.indexOf(waiter) ?? -1;
    if (queue && index !== -1) {
      queue.splice(index, 1);
      this.#queued--;
      if (queue.length === 0) this.#waiting.delete(key);
      this.#forgetIfIdle(key);
    }
    return waiter;
  }

  #forgetIfIdle(key: string): void {
    const state = this.#keys.get(key);
    if (state && state.held <= 0 && !this.#waiting.has(key)) this.#keys.delete(key);
  }
}

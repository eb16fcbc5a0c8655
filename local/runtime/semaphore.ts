/**
 * Admission control for one variant: at most `maxInFlight` holders, at most `maxQueue` waiters, and
 * no waiter waits longer than `maxWaitMs`. Callers try `tryAcquire()` first so the uncontended path
 * allocates no promise.
 */
export class Semaphore {
  #inFlight = 0;
  readonly #waiters: Array<(granted: boolean) => void> = [];

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
    return this.#waiters.length;
  }

  /** Takes a slot if one is free right now. */
  tryAcquire(): boolean {
    if (this.#inFlight >= this.maxInFlight) return false;
    this.#inFlight++;
    return true;
  }

  /**
   * Waits for a slot: resolves true once the slot is held, false when the queue is full or the wait
   * timed out (the caller then owns nothing and must not release).
   */
  acquire(): Promise<boolean> {
    if (this.tryAcquire()) return Promise.resolve(true);
    if (this.#waiters.length >= this.maxQueue) return Promise.resolve(false);
    return new Promise<boolean>((resolve) => {
      const waiter = (granted: boolean) => {
        clearTimeout(timer);
        resolve(granted);
      };
      const timer = setTimeout(() => {
        const index = this.#waiters.indexOf(waiter);
        if (index !== -1) this.#waiters.splice(index, 1);
        resolve(false);
      }, this.maxWaitMs);
      timer.unref();
      this.#waiters.push(waiter);
    });
  }

  /** Frees a slot, handing it straight to the oldest waiter if there is one. */
  release(): void {
    const next = this.#waiters.shift();
    // The slot passes to the waiter as is, so inFlight stays put and nobody can jump the queue.
    if (next) next(true);
    else this.#inFlight--;
  }
}

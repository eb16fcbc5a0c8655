type Waiter = { key: string; grant: (granted: boolean) => void };

/**
 * Who a call is for: `online` (someone waits for the answer, the default) or `batch` (a line of a
 * batch job: nobody waits for it, so it must never delay an online call).
 */
export type Priority = 'online' | 'batch';

/** Batch calls a variant runs at once, unless its capacity says otherwise. */
export const DEFAULT_MAX_BATCH_IN_FLIGHT = 1;

/**
 * The waiters of one priority, fair between keys (tenants): the next turn goes to the oldest waiter
 * of the waiting key that was granted a slot least recently (a key new to the queue first).
 */
class Lane {
  /** Waiters per key, oldest first; a key is here only while it has waiters. */
  readonly waiting = new Map<string, Waiter[]>();
  queued = 0;
  /** Slots held by this lane's calls. */
  held = 0;
  /** Per key that holds or waits for a slot: slots held, and when it was last granted one. */
  readonly #keys = new Map<string, { held: number; lastGrant: number }>();

  granted(key: string, turn: number): void {
    const state = this.#keys.get(key) ?? { held: 0, lastGrant: -1 };
    state.held++;
    state.lastGrant = turn;
    this.#keys.set(key, state);
    this.held++;
  }

  released(key: string): void {
    this.held--;
    const state = this.#keys.get(key);
    if (state) {
      state.held--;
      this.#forgetIfIdle(key);
    }
  }

  add(waiter: Waiter): void {
    const queue = this.waiting.get(waiter.key);
    if (queue) queue.push(waiter);
    else this.waiting.set(waiter.key, [waiter]);
    this.queued++;
    if (!this.#keys.has(waiter.key)) this.#keys.set(waiter.key, { held: 0, lastGrant: -1 });
  }

  /** Takes the next fair waiter out of the lane; undefined when none waits. */
  next(): Waiter | undefined {
    let best: string | undefined;
    let bestGrant = Number.POSITIVE_INFINITY;
    for (const key of this.waiting.keys()) {
      const lastGrant = this.#keys.get(key)?.lastGrant ?? -1;
      if (lastGrant < bestGrant) {
        best = key;
        bestGrant = lastGrant;
      }
    }
    return best === undefined ? undefined : this.remove(this.waiting.get(best)![0]!);
  }

  /** The key with the most waiters, if it has more than `key` would have once admitted. */
  longestOtherThan(key: string): string | undefined {
    const own = (this.waiting.get(key)?.length ?? 0) + 1;
    let longest: string | undefined;
    let most = own;
    for (const [other, queue] of this.waiting) {
      if (other !== key && queue.length > most) {
        longest = other;
        most = queue.length;
      }
    }
    return longest;
  }

  remove(waiter: Waiter): Waiter {
    const queue = this.waiting.get(waiter.key);
    const index = queue?.indexOf(waiter) ?? -1;
    if (queue && index !== -1) {
      queue.splice(index, 1);
      this.queued--;
      if (queue.length === 0) this.waiting.delete(waiter.key);
      this.#forgetIfIdle(waiter.key);
    }
    return waiter;
  }

  #forgetIfIdle(key: string): void {
    const state = this.#keys.get(key);
    if (state && state.held <= 0 && !this.waiting.has(key)) this.#keys.delete(key);
  }
}

/**
 * Admission control for one variant: at most `maxInFlight` holders, at most `maxQueue` waiters per
 * priority, and no waiter waits longer than `maxWaitMs`. Callers try `tryAcquire()` first so the
 * uncontended path allocates no promise.
 *
 * Online before batch: a freed slot goes to an online waiter whenever one waits; a batch call takes
 * a slot only when no online call waits and fewer than `maxBatchInFlight` batch calls hold one. So
 * an online call never waits behind queued batch work, only (at worst) for the few batch calls
 * already running to finish; and batch waiters never fill the online queue (each priority has its
 * own `maxQueue` places).
 *
 * Fair between keys (tenants) within a priority: a freed slot goes to the oldest waiter of the
 * waiting key that was granted a slot least recently (a key new to the queue first), so a tenant
 * with many requests waiting gets every other turn, not every turn, and another tenant waits for at
 * most one of its calls per turn. A full queue pushes out the newest waiter of the key with the most
 * waiters (it is told busy) to admit a key with fewer, so one tenant filling the queue cannot turn
 * others away. Requests without a key share the key ''.
 */
export class Semaphore {
  #inFlight = 0;
  readonly #lanes: Record<Priority, Lane> = { online: new Lane(), batch: new Lane() };
  #grants = 0;

  constructor(
    readonly maxInFlight: number,
    readonly maxQueue: number,
    readonly maxWaitMs = 10_000,
    readonly maxBatchInFlight = DEFAULT_MAX_BATCH_IN_FLIGHT,
  ) {
    if (!(maxInFlight >= 1) || !(maxQueue >= 0) || !(maxBatchInFlight >= 1)) {
      throw new Error(
        `invalid capacity: maxInFlight ${maxInFlight}, maxQueue ${maxQueue}, maxBatchInFlight ${maxBatchInFlight}`,
      );
    }
  }

  get inFlight(): number {
    return this.#inFlight;
  }

  /** Calls waiting, both priorities. */
  get queued(): number {
    return this.#lanes.online.queued + this.#lanes.batch.queued;
  }

  /** How many distinct keys are waiting (a tenant waiting in both priorities counts twice). */
  get waitingKeys(): number {
    return this.#lanes.online.waiting.size + this.#lanes.batch.waiting.size;
  }

  /** Batch calls holding a slot. */
  get batchInFlight(): number {
    return this.#lanes.batch.held;
  }

  /** Batch calls waiting. */
  get batchQueued(): number {
    return this.#lanes.batch.queued;
  }

  /** True when a call for `key` would be refused at once: no slot, and no queue place it may take. */
  wouldRefuse(key = '', priority: Priority = 'online'): boolean {
    if (this.#mayStart(priority)) return false;
    const lane = this.#lanes[priority];
    if (lane.queued < this.maxQueue) return false;
    return lane.longestOtherThan(key) === undefined;
  }

  /** Takes a slot if one is free right now (for a batch call: and no online call waits). */
  tryAcquire(key = '', priority: Priority = 'online'): boolean {
    if (!this.#mayStart(priority)) return false;
    this.#inFlight++;
    this.#lanes[priority].granted(key, this.#grants++);
    return true;
  }

  /**
   * Waits for a slot: resolves true once the slot is held, false when the queue is full (or this
   * waiter was pushed out for another key), the wait timed out or `signal` aborted (the caller then
   * owns nothing and must not release).
   */
  acquire(key = '', signal?: AbortSignal, priority: Priority = 'online'): Promise<boolean> {
    if (signal?.aborted) return Promise.resolve(false);
    if (this.tryAcquire(key, priority)) return Promise.resolve(true);
    const lane = this.#lanes[priority];
    if (lane.queued >= this.maxQueue) {
      const victim = lane.longestOtherThan(key);
      if (victim === undefined) return Promise.resolve(false);
      lane.remove(lane.waiting.get(victim)!.at(-1)!).grant(false);
    }
    return new Promise<boolean>((resolve) => {
      const leave = () => {
        lane.remove(waiter);
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
      lane.add(waiter);
    });
  }

  /**
   * Frees a slot held for `key` at `priority`, handing it straight to the next waiter if there is
   * one: an online waiter first, else a batch waiter while the batch bound allows.
   */
  release(key = '', priority: Priority = 'online'): void {
    this.#lanes[priority].released(key);
    const { online, batch } = this.#lanes;
    // The slot passes to the waiter as is, so inFlight stays put and nobody can jump the queue.
    const waiter = online.next();
    if (waiter) {
      online.granted(waiter.key, this.#grants++);
      waiter.grant(true);
      return;
    }
    const batchWaiter = batch.held < this.maxBatchInFlight ? batch.next() : undefined;
    if (batchWaiter) {
      batch.granted(batchWaiter.key, this.#grants++);
      batchWaiter.grant(true);
      return;
    }
    this.#inFlight--;
  }

  /** Whether a call of `priority` may take a slot now, ahead of nobody. */
  #mayStart(priority: Priority): boolean {
    if (this.#inFlight >= this.maxInFlight) return false;
    if (priority === 'online') return true;
    const { online, batch } = this.#lanes;
    return online.queued === 0 && batch.queued === 0 && batch.held < this.maxBatchInFlight;
  }
}

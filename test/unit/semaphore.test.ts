import { describe, expect, it } from 'vitest';
import { Semaphore } from '../../local/runtime/semaphore';
import { tenantOf } from '../../local/runtime/server';

/** Acquires for `key` and records the order in which slots were granted. */
function waitFor(semaphore: Semaphore, key: string, order: string[], label = key) {
  return semaphore.acquire(key).then((granted) => {
    if (granted) order.push(label);
    return granted;
  });
}

describe('the runtime queue of a variant', () => {
  it('hands a freed slot to a tenant that waits before a tenant that already had its turn', async () => {
    const semaphore = new Semaphore(1, 8);
    const order: string[] = [];
    expect(semaphore.tryAcquire('heavy')).toBe(true);
    const waits = [
      waitFor(semaphore, 'heavy', order, 'heavy-2'),
      waitFor(semaphore, 'heavy', order, 'heavy-3'),
      waitFor(semaphore, 'light', order, 'light-1'),
    ];
    semaphore.release('heavy');
    await Promise.resolve();
    expect(order).toEqual(['light-1']);
    const more = waitFor(semaphore, 'light', order, 'light-2');
    semaphore.release('light');
    await Promise.resolve();
    semaphore.release('heavy');
    await Promise.resolve();
    semaphore.release('light');
    await Promise.resolve();
    semaphore.release('heavy');
    await Promise.all([...waits, more]);
    // Turns alternate; within a tenant, its own calls keep their order.
    expect(order).toEqual(['light-1', 'heavy-2', 'light-2', 'heavy-3']);
    expect(semaphore.inFlight).toBe(0);
    expect(semaphore.queued).toBe(0);
  });

  it('is first come, first served within one tenant, as before', async () => {
    const semaphore = new Semaphore(1, 4);
    const order: string[] = [];
    semaphore.tryAcquire();
    const waits = ['a', 'b', 'c'].map((label) => waitFor(semaphore, '', order, label));
    for (let i = 0; i < 4; i++) {
      semaphore.release();
      await Promise.resolve();
    }
    await Promise.all(waits);
    expect(order).toEqual(['a', 'b', 'c']);
    expect(semaphore.inFlight).toBe(0);
  });

  it("a tenant that fills the queue is pushed out for another tenant's first call, not the other way round", async () => {
    const semaphore = new Semaphore(1, 3);
    const order: string[] = [];
    semaphore.tryAcquire('heavy');
    const heavy = [1, 2, 3].map((n) => waitFor(semaphore, 'heavy', order, `heavy-${n}`));
    expect(semaphore.wouldRefuse('heavy')).toBe(true);
    expect(semaphore.wouldRefuse('light')).toBe(false);
    expect(await semaphore.acquire('heavy')).toBe(false);
    const light = waitFor(semaphore, 'light', order, 'light-1');
    // The newest heavy waiter made room, and was told so at once.
    expect(await heavy[2]).toBe(false);
    expect(semaphore.queued).toBe(3);
    // Now the queue is 2 heavy + 1 light: a second light call does not push out another heavy one.
    expect(semaphore.wouldRefuse('light')).toBe(true);
    for (const holder of ['heavy', 'light', 'heavy', 'heavy']) {
      semaphore.release(holder);
      await Promise.resolve();
    }
    await Promise.all([light, heavy[0], heavy[1]]);
    expect(order).toEqual(['light-1', 'heavy-1', 'heavy-2']);
    expect(semaphore.inFlight).toBe(0);
  });

  it('a waiter that waited too long is refused and holds nothing', async () => {
    const semaphore = new Semaphore(1, 2, 20);
    semaphore.tryAcquire('a');
    expect(await semaphore.acquire('b')).toBe(false);
    expect(semaphore.queued).toBe(0);
    semaphore.release('a');
    expect(semaphore.inFlight).toBe(0);
    expect(semaphore.tryAcquire('b')).toBe(true);
  });

  it('a caller that hangs up leaves the queue at once', async () => {
    const semaphore = new Semaphore(1, 1);
    semaphore.tryAcquire('a');
    const gone = new AbortController();
    const waiting = semaphore.acquire('b', gone.signal);
    expect(semaphore.queued).toBe(1);
    gone.abort();
    expect(await waiting).toBe(false);
    expect(semaphore.queued).toBe(0);
    semaphore.release('a');
    expect(semaphore.inFlight).toBe(0);
  });
});

describe('the tenant a runtime call is queued for', () => {
  it.each([
    ['tenant=ten_01ABC', 'ten_01ABC'],
    ['trace=1;tenant=ten_01ABC', 'ten_01ABC'],
    ['tenant=ten_01ABC, trace=1', 'ten_01ABC'],
    ['x-tenant=ten_other', ''],
    ['', ''],
    [undefined, ''],
  ])('custom attributes %j: %j', (attributes, tenant) => {
    expect(
      tenantOf(attributes === undefined ? {} : { 'x-amzn-sagemaker-custom-attributes': attributes }),
    ).toBe(tenant);
  });
});

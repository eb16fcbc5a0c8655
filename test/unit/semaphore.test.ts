import { describe, expect, it } from 'vitest';
import { type Priority, Semaphore } from '../../local/runtime/semaphore';
import { priorityOf, tenantOf } from '../../local/runtime/server';

/** Acquires for `key` and records the order in which slots were granted. */
function waitFor(semaphore: Semaphore, key: string, order: string[], label = key, priority?: Priority) {
  return semaphore.acquire(key, undefined, priority).then((granted) => {
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

describe('online calls before batch calls', () => {
  it('an online call queued behind batch calls is served first, even from the same tenant', async () => {
    const semaphore = new Semaphore(1, 8);
    const order: string[] = [];
    expect(semaphore.tryAcquire('acme', 'batch')).toBe(true);
    const waits = [
      waitFor(semaphore, 'acme', order, 'batch-2', 'batch'),
      waitFor(semaphore, 'acme', order, 'batch-3', 'batch'),
      waitFor(semaphore, 'acme', order, 'online-1', 'online'),
    ];
    expect(semaphore.batchQueued).toBe(2);
    semaphore.release('acme', 'batch');
    await Promise.resolve();
    expect(order).toEqual(['online-1']);
    // An online call arriving while batch calls still wait also goes before them.
    const late = waitFor(semaphore, 'other', order, 'online-2', 'online');
    semaphore.release('acme', 'online');
    await Promise.resolve();
    semaphore.release('other', 'online');
    await Promise.resolve();
    semaphore.release('acme', 'batch');
    await Promise.resolve();
    semaphore.release('acme', 'batch');
    await Promise.all([...waits, late]);
    expect(order).toEqual(['online-1', 'online-2', 'batch-2', 'batch-3']);
    expect(semaphore.inFlight).toBe(0);
    expect(semaphore.queued).toBe(0);
    expect(semaphore.batchInFlight).toBe(0);
  });

  it('runs at most maxBatchInFlight batch calls at once, leaving the other slots to online calls', async () => {
    const semaphore = new Semaphore(4, 8, 10_000, 1);
    const order: string[] = [];
    expect(semaphore.tryAcquire('acme', 'batch')).toBe(true);
    // Three slots are free, yet the second batch call waits: one batch call at a time.
    expect(semaphore.tryAcquire('acme', 'batch')).toBe(false);
    const second = waitFor(semaphore, 'acme', order, 'batch-2', 'batch');
    expect(semaphore.batchInFlight).toBe(1);
    expect(semaphore.batchQueued).toBe(1);
    for (let i = 0; i < 3; i++) expect(semaphore.tryAcquire('other')).toBe(true);
    expect(semaphore.inFlight).toBe(4);
    // An online call finishing frees its slot; the batch call still waits for the batch one.
    semaphore.release('other');
    await Promise.resolve();
    expect(order).toEqual([]);
    expect(semaphore.inFlight).toBe(3);
    semaphore.release('acme', 'batch');
    await second;
    expect(order).toEqual(['batch-2']);
    expect(semaphore.batchInFlight).toBe(1);
    expect(semaphore.inFlight).toBe(3);
  });

  it('a batch call does not start in a free slot while older batch calls wait', async () => {
    const semaphore = new Semaphore(2, 8, 10_000, 2);
    const order: string[] = [];
    semaphore.tryAcquire('a');
    semaphore.tryAcquire('b', 'batch');
    const waiting = waitFor(semaphore, 'b', order, 'batch-2', 'batch');
    // The online call's slot goes to the waiting batch call, not to a newcomer.
    semaphore.release('a');
    await waiting;
    expect(semaphore.tryAcquire('c', 'batch')).toBe(false);
    expect(order).toEqual(['batch-2']);
  });

  it('batch waiters never take the online queue places, and are turned away on their own', async () => {
    const semaphore = new Semaphore(1, 2);
    semaphore.tryAcquire('acme', 'batch');
    const batch = [
      semaphore.acquire('acme', undefined, 'batch'),
      semaphore.acquire('acme', undefined, 'batch'),
    ];
    expect(semaphore.wouldRefuse('acme', 'batch')).toBe(true);
    expect(await semaphore.acquire('acme', undefined, 'batch')).toBe(false);
    // The batch queue is full; online calls still have their own two places.
    expect(semaphore.wouldRefuse('acme', 'online')).toBe(false);
    const online = [semaphore.acquire('acme'), semaphore.acquire('acme')];
    expect(semaphore.queued).toBe(4);
    expect(await semaphore.acquire('acme')).toBe(false);
    for (const priority of ['batch', 'online', 'online', 'batch', 'batch'] as const) {
      semaphore.release('acme', priority);
      await Promise.resolve();
    }
    expect(await Promise.all([...online, ...batch])).toEqual([true, true, true, true]);
    expect(semaphore.inFlight).toBe(0);
  });

  it('a batch waiter that waited too long is refused and holds nothing', async () => {
    const semaphore = new Semaphore(1, 2, 20);
    semaphore.tryAcquire('a');
    expect(await semaphore.acquire('a', undefined, 'batch')).toBe(false);
    expect(semaphore.batchQueued).toBe(0);
    semaphore.release('a');
    expect(semaphore.inFlight).toBe(0);
    expect(semaphore.tryAcquire('a', 'batch')).toBe(true);
    expect(semaphore.batchInFlight).toBe(1);
  });
});

describe('the priority a runtime call is queued at', () => {
  it.each([
    ['tenant=ten_01ABC;priority=batch', 'batch'],
    ['priority=batch, tenant=ten_01ABC', 'batch'],
    ['priority=batch', 'batch'],
    ['tenant=ten_01ABC', 'online'],
    ['tenant=ten_01ABC;priority=online', 'online'],
    ['tenant=ten_01ABC;priority=batchy', 'online'],
    ['x-priority=batch', 'online'],
    ['', 'online'],
    [undefined, 'online'],
  ])('custom attributes %j: %j', (attributes, priority) => {
    expect(
      priorityOf(attributes === undefined ? {} : { 'x-amzn-sagemaker-custom-attributes': attributes }),
    ).toBe(priority);
  });

  it('the tenant is still read beside the priority', () => {
    expect(tenantOf({ 'x-amzn-sagemaker-custom-attributes': 'tenant=ten_01ABC;priority=batch' })).toBe(
      'ten_01ABC',
    );
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

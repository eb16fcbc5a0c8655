import { beforeAll, describe, expect, inject, it } from 'vitest';
import { createDynamo, type Dynamo } from '../../shared/db/client';
import { tableNames } from '../../shared/db/tables';
import { newId } from '../../shared/ids';
import { type Admission, QuotaAdmission } from '../../shared/quotas/admission';
import { QuotaStore } from '../../shared/quotas/quota-store';
import { createHarness, type Harness } from '../support/harness';
import { limitsOf, quotaRequest, usageEvent } from '../support/quota-fixtures';
import { StoreOutage } from '../support/store-outage';

const SLOT_TTL_MS = 600;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Gateway instances as Lambda runs them: each its own SDK client and memory, no group commit or
 * anything else shared, serving one request at a time, and never run between requests (frozen:
 * nothing of theirs runs after their last request ends).
 */
describe('independent instances, frozen between requests (the Lambda model)', () => {
  let h: Harness;
  const clients: Dynamo[] = [];
  beforeAll(async () => {
    h = await createHarness();
    return () => {
      for (const d of clients) d.client.destroy();
    };
  });

  function instance(endpoint = inject('dynamoEndpoint'), slotTtlMs = SLOT_TTL_MS) {
    const dynamo = createDynamo({ region: 'us-east-1', endpoint, maxAttempts: 1 });
    clients.push(dynamo);
    const names = tableNames(h.config.STAGE);
    const store = new QuotaStore(dynamo.doc, names.main, names.usage);
    const admission = new QuotaAdmission(store, {
      leaseMs: 5_000,
      idleMs: 60_000,
      slotTtlMs,
      now: () => new Date(),
    });
    return { admission, dynamo };
  }
  const request = (tenantId: string, max: number) =>
    quotaRequest(tenantId, limitsOf({ maxConcurrent: max }), { now: new Date() });
  const admitted = (r: Awaited<ReturnType<QuotaAdmission['admit']>>): Admission => {
    if (!r.ok) throw new Error(`refused: ${r.limit}`);
    return r.admission;
  };
  const serve = async (a: QuotaAdmission, tenantId: string, max: number) => {
    const adm = admitted(await a.admit(request(tenantId, max)));
    const id = adm.reservation.requestId;
    const actual = { tokens: 3, units: { input_tokens: 3 }, costNanoUsd: 300 };
    await a.settle(adm, actual, usageEvent(tenantId, id, 3, { at: new Date().toISOString() }));
  };

  it('slots held by instances frozen with nothing in flight come free within the slot hold, to whoever needs them', async () => {
    const t = newId('ten');
    // A hold long enough that the four requests below surely end within it on a busy machine.
    const hold = 4_000;
    const frozen = [1, 2, 3, 4].map(() => instance(undefined, hold));
    // Four environments each serve one request of a tenant allowed 4 in flight, then freeze.
    const started = Date.now();
    await Promise.all(frozen.map((f) => serve(f.admission, t, 4)));
    expect(Date.now() - started).toBeLessThan(hold / 2);
    // Their leases still hold the slots (as counted in the store): nothing is in flight, yet a
    // fifth environment is refused while the hold lasts. That is the stated bound.
    const fifth = instance(undefined, hold);
    const early = await fifth.admission.admit(request(t, 4));
    expect(early).toMatchObject({ ok: false, limit: 'concurrency_limit' });
    // Past the hold, nobody renewed them: the fifth frees them where it needs one, and is admitted.
    await sleep(hold + 100);
    const later = admitted(await fifth.admission.admit(request(t, 4)));
    expect(later.kind).toBeDefined();
    expect(await h.stores.quotas.inFlight(t)).toBeLessThanOrEqual(4);
    await fifth.admission.release(later);
  });

  it('an instance with a request in flight keeps its slot past the hold; when it ends, the slot comes free', async () => {
    const t = newId('ten');
    const busy = instance();
    const other = instance();
    const running = admitted(await busy.admission.admit(request(t, 1)));
    // The request runs three holds long: the instance renews its slot meanwhile.
    await sleep(SLOT_TTL_MS * 3);
    expect(await other.admission.admit(request(t, 1))).toMatchObject({
      ok: false,
      limit: 'concurrency_limit',
    });
    expect(await h.stores.quotas.inFlight(t)).toBe(1);
    await busy.admission.release(running);
    // Now frozen with nothing in flight: no renewal runs, and the slot comes free after the hold.
    await sleep(SLOT_TTL_MS + 100);
    const next = admitted(await other.admission.admit(request(t, 1)));
    expect(await h.stores.quotas.inFlight(t)).toBe(1);
    await other.admission.release(next);
  });

  it('an instance that dies with requests in flight gives its slots back within the hold, not at its lease expiry', async () => {
    const t = newId('ten');
    // Its only way to the store: cut when it dies.
    const line = await StoreOutage.start(inject('dynamoEndpoint'));
    const dying = instance(line.endpoint);
    const running = [];
    for (let i = 0; i < 8; i++) running.push(admitted(await dying.admission.admit(request(t, 8))));
    expect(await h.stores.quotas.inFlight(t)).toBe(8);
    // SIGKILL: nothing of it reaches the store again (its renewals are lost on the way).
    await line.set('refused');
    const survivor = instance();
    const started = Date.now();
    let served = 0;
    while (served < 8 && Date.now() - started < 10_000) {
      const r = await survivor.admission.admit(request(t, 8));
      if (r.ok) served++;
      else await sleep(100);
    }
    expect(served).toBe(8);
    // Back within about one hold (plus the polling here), not the lease's expiry (about 95 s).
    expect(Date.now() - started).toBeLessThan(SLOT_TTL_MS * 5);
    expect(await h.stores.quotas.inFlight(t)).toBeLessThanOrEqual(8);
    await line.close();
  });

  it('a burst of 1,000 requests over 20 instances against 500 a minute: never more than 500, the rest 429 (none 503), later refusals from memory, the ledger exact', async () => {
    const t = newId('ten');
    const limits = limitsOf({ requestsPerMinute: 500 });
    // One request at a time per instance, as Lambda runs them; 50 each, all instances at once.
    const instances = Array.from({ length: 20 }, () => {
      const i = instance();
      let sends = 0;
      i.dynamo.doc.middlewareStack.add(
        (next) => async (args) => {
          sends++;
          return next(args);
        },
        { step: 'initialize', name: 'countSends' },
      );
      return { ...i, sends: () => sends };
    });
    const outcomes: { status: string; sends: number; afterRefusal: boolean }[] = [];
    const served: string[] = [];
    const minuteStart = Math.floor(Date.now() / 60_000) * 60_000;
    // Start inside one minute with room to finish in it (the window is what is limited).
    if (Date.now() - minuteStart > 40_000) await sleep(minuteStart + 60_500 - Date.now());
    await Promise.all(
      instances.map(async (inst) => {
        let refused = false;
        for (let n = 0; n < 50; n++) {
          const before = inst.sends();
          const r = await inst.admission.admit(quotaRequest(t, limits, { now: new Date() }));
          if (r.ok) {
            const id = r.admission.reservation.requestId;
            const actual = { tokens: 10, units: { input_tokens: 10 }, costNanoUsd: 1_000 };
            await inst.admission.settle(
              r.admission,
              actual,
              usageEvent(t, id, 10, { at: new Date().toISOString() }),
            );
            served.push(id);
            outcomes.push({ status: 'served', sends: inst.sends() - before, afterRefusal: refused });
          } else {
            outcomes.push({ status: r.limit, sends: inst.sends() - before, afterRefusal: refused });
            refused = true;
          }
        }
      }),
    );
    const refusals = outcomes.filter((o) => o.status !== 'served');
    console.log(
      `burst: ${served.length} served, ${refusals.length} refused; refusals with a store call: ${refusals.filter((o) => o.sends > 0).length}`,
    );
    // Never more than the limit, whatever the instances; every other answer a 429 of that limit.
    expect(served.length).toBeLessThanOrEqual(500);
    expect(refusals.every((o) => o.status === 'rate_limit_requests')).toBe(true);
    expect(served.length + refusals.length).toBe(1_000);
    // What leases hold unused when their instances run out of requests is the stated bound on
    // under-admission: at most a refill's headroom per instance.
    expect(served.length).toBeGreaterThanOrEqual(500 - 20 * 8);
    // An instance refused once refuses the rest of the minute from memory, unless its own lease
    // still had room: no store round trip.
    expect(refusals.filter((o) => o.afterRefusal && o.sends > 0)).toEqual([]);
    // The ledger is exactly what was served.
    const events = await h.stores.usage.listEvents(t);
    expect(events.map((e) => e.requestId).sort()).toEqual([...served].sort());
  });
});

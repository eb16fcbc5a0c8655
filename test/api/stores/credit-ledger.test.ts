import { beforeAll, describe, expect, it } from 'vitest';
import type { CreditKind } from '#shared/credits/burn-order';
import type { CreditStore } from '#shared/credits/credit-store';
import { keys } from '#shared/db/keys';
import { tableNames } from '#shared/db/tables';
import { newId } from '#shared/ids';
import { type Admission, QuotaAdmission } from '#shared/quotas/admission';
import { sweepReservations } from '../../../functions/jobs/sweep-reservations';
import { createHarness, type Harness } from '../../support/harness';
import { limitsOf, NOW, quotaRequest, readItem, usageEvent } from '../../support/quota-fixtures';

const OPERATOR = { kind: 'operator', id: 'opr_test', email: 'ops@example.com' } as const;
const at = (ms: number) => new Date(NOW.getTime() + ms);
/** Past the time a record takes to be final (the test stage's timeout + grace + margin). */
let FINAL_MS = 0;

describe('the credit ledger (DynamoDB Local)', () => {
  let h: Harness;
  let credits: CreditStore;
  let main: string;
  beforeAll(async () => {
    h = await createHarness();
    credits = h.stores.quotas.credits;
    main = tableNames(h.config.STAGE).main;
    FINAL_MS = h.config.MODEL_TIMEOUT_MS + h.config.RESERVATION_GRACE_MS + 16_000;
  });

  const prepaid = limitsOf({ prepaid: true });
  /** An API instance whose clock the test moves. */
  const instance = (clock: { now: Date }, leaseMs = 5_000) =>
    new QuotaAdmission(h.stores.quotas, { leaseMs, idleMs: 60_000, now: () => clock.now });
  const grant = async (tenantId: string, kind: CreditKind, nano: number, expiresInMs: number, now = NOW) => {
    const out = await credits.grant(
      {
        tenantId,
        kind,
        amountNanoUsd: nano,
        expiresAt: at(expiresInMs).toISOString(),
        note: `${kind} test`,
        actor: OPERATOR,
        requestId: null,
      },
      now,
    );
    if (out.status !== 'granted') throw new Error(out.status);
    return out.grant;
  };
  /** Admits, then records `cost` as the request's use (a prepaid record) and settles. */
  const serve = async (a: QuotaAdmission, tenantId: string, now: Date, cost: number, worst = cost) => {
    const r = await a.admit(
      quotaRequest(tenantId, prepaid, { now, costNanoUsd: worst, requestId: newId('req', now.getTime()) }),
    );
    if (!r.ok) return r;
    await finish(a, r.admission, tenantId, cost);
    return r;
  };
  const finish = (a: QuotaAdmission, adm: Admission, tenantId: string, cost: number) =>
    a.settle(
      adm,
      { tokens: 10, units: { input_tokens: 10 }, costNanoUsd: cost },
      usageEvent(tenantId, adm.reservation.requestId, 10, { costNanoUsd: cost, prepaid: true }),
    );

  it('refuses a prepaid tenant with no credit, and an operator grant on an unknown tenant changes nothing', async () => {
    const { tenantId } = await h.newTenant();
    const r = await instance({ now: NOW }).admit(quotaRequest(tenantId, prepaid));
    expect(r).toMatchObject({ ok: false, limit: 'insufficient_balance', limitValue: 0 });
    const unknown = newId('ten');
    const out = await credits.grant(
      {
        tenantId: unknown,
        kind: 'paid',
        amountNanoUsd: 1_000,
        expiresAt: at(86_400_000).toISOString(),
        note: null,
        actor: OPERATOR,
        requestId: null,
      },
      NOW,
    );
    expect(out).toEqual({ status: 'not_found' });
    expect(await credits.balance(unknown)).toBeUndefined();
    expect(await credits.grants(unknown)).toEqual([]);
  });

  it('burns promotional (trial included) before paid, earliest expiry first, and the balance equals the ledger', async () => {
    const { tenantId } = await h.newTenant();
    const day = 86_400_000;
    const paid = await grant(tenantId, 'paid', 50_000, 2 * day);
    const promo = await grant(tenantId, 'promotional', 30_000, 20 * day);
    const trial = await grant(tenantId, 'trial', 20_000, 10 * day);
    const clock = { now: at(1_000) };
    const a = instance(clock);
    // 7 requests of 9,000: 63,000 = trial 20,000, then promotional 30,000, then 13,000 of paid.
    for (let i = 0; i < 7; i++) {
      clock.now = at(1_000 + i * 100);
      expect((await serve(a, tenantId, clock.now, 9_000)).ok).toBe(true);
    }
    await a.close();
    expect((await credits.balance(tenantId))?.availableNanoUsd).toBe(100_000 - 63_000);

    const s = await credits.statement(tenantId, at(1_000 + FINAL_MS));
    const byId = new Map(s.grants.map((g) => [g.id, g]));
    expect(byId.get(trial.id)?.burnedNanoUsd).toBe(20_000);
    expect(byId.get(promo.id)?.burnedNanoUsd).toBe(30_000);
    expect(byId.get(paid.id)?.burnedNanoUsd).toBe(13_000);
    expect(s.byKind).toEqual({ paid: 37_000, promotional: 0, trial: 0 });
    expect(s.pendingNanoUsd).toBe(0);
    expect(s.balance).toMatchObject({
      availableNanoUsd: 37_000,
      grantedNanoUsd: 100_000,
      burnedNanoUsd: 63_000,
      expiredNanoUsd: 0,
    });
    const page = await credits.entries(tenantId, { limit: 50 });
    if (page === 'bad_cursor') throw new Error('bad cursor');
    const sum = page.entries.reduce((t, e) => t + e.amountNanoUsd, 0);
    expect(sum).toBe(37_000);
    expect(
      page.entries
        .filter((e) => e.type === 'burn')
        .map((e) => e.grantId)
        .sort(),
    ).toEqual([paid.id, promo.id, trial.id].sort());
    // A second catch-up burns nothing twice.
    await credits.statement(tenantId, at(2_000 + FINAL_MS));
    expect((await credits.balance(tenantId))?.burnedNanoUsd).toBe(63_000);
  });

  it('never goes below zero: 200 concurrent admissions on two instances against a balance of 50 requests', async () => {
    const { tenantId } = await h.newTenant();
    await grant(tenantId, 'paid', 50 * 1_000, 86_400_000);
    const clock = { now: at(500) };
    const [a, b] = [instance(clock), instance(clock)];
    const results = await Promise.all(
      Array.from({ length: 200 }, (_, i) => serve(i % 2 ? a : b, tenantId, clock.now, 700, 1_000)),
    );
    const served = results.filter((r) => r.ok).length;
    const refused = results.filter((r) => !r.ok);
    expect(refused.every((r) => !r.ok && r.limit === 'insufficient_balance')).toBe(true);
    // Worst case 1,000 reserved each: at least 50 are served, and what they used fits the balance.
    expect(served).toBeGreaterThanOrEqual(50);
    expect(served * 700).toBeLessThanOrEqual(50_000);
    await Promise.all([a.close(), b.close()]);
    const bal = await credits.balance(tenantId);
    expect(bal?.availableNanoUsd).toBe(50_000 - served * 700);
    const s = await credits.statement(tenantId, at(500 + FINAL_MS));
    expect(s.balance?.burnedNanoUsd).toBe(served * 700);
    expect(s.balanceNanoUsd).toBe(50_000 - served * 700);
    expect(s.balance?.availableNanoUsd).toBe(s.balanceNanoUsd);
  });

  it('a grant that expires with requests in flight: they spend it, nothing after the expiry does, and the rest leaves with entries saying so', async () => {
    const { tenantId } = await h.newTenant();
    const promo = await grant(tenantId, 'promotional', 10_000, 60_000);
    const paid = await grant(tenantId, 'paid', 3_000, 86_400_000);
    const clock = { now: at(10_000) };
    const a = instance(clock, 0);
    // In flight across the expiry: admitted before it (worst case 9,000), answered after it.
    const inFlight = await a.admit(
      quotaRequest(tenantId, prepaid, {
        now: clock.now,
        costNanoUsd: 9_000,
        requestId: newId('req', clock.now.getTime()),
      }),
    );
    if (!inFlight.ok) throw new Error(inFlight.limit);

    // After the expiry (found by admission, no timer): everything the promotional grant had not
    // burned leaves at once, what the request in flight holds of it too, so nothing admitted now
    // can spend it. The paid 3,000 is held back with it until that request is in the ledger.
    clock.now = at(61_000);
    const refused = await serve(a, tenantId, clock.now, 2_000);
    expect(refused).toMatchObject({ ok: false, limit: 'insufficient_balance', limitValue: 0 });
    expect((await credits.balance(tenantId))?.availableNanoUsd).toBe(13_000 - 9_000 - 10_000);

    // The request in flight ends, using 4,000 of the promotional grant it was admitted against.
    clock.now = at(62_000);
    await finish(a, inFlight.admission, tenantId, 4_000);
    expect((await credits.balance(tenantId))?.availableNanoUsd).toBe(-1_000);
    // Once it is in the ledger, a refused request catches the ledger up: what it used of the
    // expired grant is its own, and the paid credit is there again.
    clock.now = at(62_000 + FINAL_MS);
    const after = await serve(a, tenantId, clock.now, 2_000);
    expect(after.ok).toBe(true);
    // 3,000 paid - 2,000 = 1,000 left: a request that may cost 2,000 is refused.
    expect(await serve(a, tenantId, clock.now, 2_000)).toMatchObject({
      ok: false,
      limit: 'insufficient_balance',
    });

    const s = await credits.statement(tenantId, at(63_000 + 2 * FINAL_MS));
    const g = new Map(s.grants.map((x) => [x.id, x]));
    expect(g.get(promo.id)).toMatchObject({ status: 'expired', burnedNanoUsd: 4_000, expiredNanoUsd: 6_000 });
    expect(g.get(paid.id)).toMatchObject({ status: 'active', burnedNanoUsd: 2_000 });
    expect(s.byKind).toEqual({ paid: 1_000, promotional: 0, trial: 0 });
    expect(s.balance?.availableNanoUsd).toBe(1_000);
    const page = await credits.entries(tenantId, { limit: 50 });
    if (page === 'bad_cursor') throw new Error('bad cursor');
    const types = page.entries.map((e) => `${e.type}:${e.amountNanoUsd}`).sort();
    expect(types).toEqual(
      [
        'burn:-2000',
        'burn:-4000',
        'expiry:-10000',
        'expiry_adjustment:4000',
        'grant:10000',
        'grant:3000',
      ].sort(),
    );
    expect(page.entries.reduce((t, e) => t + e.amountNanoUsd, 0)).toBe(1_000);
    expect(Number((await readItem(h, main, keys.creditBalance(tenantId)))?.available)).toBe(1_000);
  });

  it('the sweep expires and burns without any read: each grant once, however often it runs', async () => {
    const { tenantId } = await h.newTenant();
    const promo = await grant(tenantId, 'promotional', 5_000, 30_000);
    const clock = { now: at(1_000) };
    const a = instance(clock, 0);
    expect((await serve(a, tenantId, clock.now, 1_500)).ok).toBe(true);
    const later = at(31_000 + FINAL_MS);
    const first = await sweepReservations(h.stores.quotas, later, h.stores.usage);
    expect(first.creditFailures).toBe(0);
    expect(first.credits).toBeGreaterThanOrEqual(1);
    await sweepReservations(h.stores.quotas, later, h.stores.usage);
    const [g] = await credits.grants(tenantId);
    expect(g).toMatchObject({ id: promo.id, status: 'expired', burnedNanoUsd: 1_500, expiredNanoUsd: 3_500 });
    expect(await credits.balance(tenantId)).toMatchObject({
      availableNanoUsd: 0,
      burnedNanoUsd: 1_500,
      expiredNanoUsd: 3_500,
    });
    const page = await credits.entries(tenantId, { limit: 10 });
    if (page === 'bad_cursor') throw new Error('bad cursor');
    expect(page.entries.map((e) => `${e.type}:${e.amountNanoUsd}`).sort()).toEqual(
      ['burn:-1500', 'expiry:-3500', 'grant:5000'].sort(),
    );
  });

  it('a lease never admits past a grant expiry: near one, requests are reserved one by one', async () => {
    const { tenantId } = await h.newTenant();
    await grant(tenantId, 'promotional', 100_000, 62_000);
    const clock = { now: at(60_000) };
    const a = instance(clock);
    const kinds: string[] = [];
    for (let i = 0; i < 3; i++) {
      const r = await a.admit(
        quotaRequest(tenantId, prepaid, { now: clock.now, requestId: newId('req', clock.now.getTime()) }),
      );
      if (!r.ok) throw new Error(r.limit);
      kinds.push(r.admission.kind);
      await a.release(r.admission);
    }
    expect(kinds).toEqual(['reservation', 'reservation', 'reservation']);
    clock.now = at(62_000);
    const r = await a.admit(
      quotaRequest(tenantId, prepaid, { now: clock.now, requestId: newId('req', clock.now.getTime()) }),
    );
    expect(r).toMatchObject({ ok: false, limit: 'insufficient_balance' });
  });
});

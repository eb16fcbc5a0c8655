import { beforeAll, describe, expect, it } from 'vitest';
import { keys } from '#shared/db/keys';
import { tableNames } from '#shared/db/tables';
import { newId } from '#shared/ids';
import { type Admission, QuotaAdmission } from '#shared/quotas/admission';
import type { EffectiveLimits } from '#shared/quotas/plans';
import { windowsAt } from '#shared/quotas/windows';
import { createHarness, type Harness } from '../../support/harness';
import { limitsOf, NOW, quotaRequest, readItem, TTL_MS, usageEvent } from '../../support/quota-fixtures';

const W = windowsAt(NOW);

/** The tenant's limits with a project's (as `effectiveLimits` makes them for a project with limits). */
const withProject = (
  tenant: Partial<EffectiveLimits['tenant']>,
  project: Omit<NonNullable<EffectiveLimits['project']>, 'id'>,
  key: EffectiveLimits['key'] = {},
  id = 'proj_a',
): EffectiveLimits => ({ ...limitsOf(tenant, key), project: { id, ...project } });

describe('project limits in the quota store and leases (DynamoDB Local)', () => {
  let h: Harness;
  let main: string;
  beforeAll(async () => {
    h = await createHarness();
    main = tableNames(h.config.STAGE).main;
  });

  const instance = (now: () => Date = () => NOW) =>
    new QuotaAdmission(h.stores.quotas, { leaseMs: 5_000, idleMs: 60_000, now });
  const item = (k: { pk: string; sk: string }) => readItem(h, main, k);
  const actual = (tokens: number) => ({ tokens, units: { input_tokens: tokens }, costNanoUsd: tokens * 100 });
  const admitted = (r: Awaited<ReturnType<QuotaAdmission['admit']>>): Admission => {
    if (!r.ok) throw new Error(`refused: ${r.limit}`);
    return r.admission;
  };

  it('a project’s requests per minute hold across its keys and two instances: 120 against 30 admit exactly 30', async () => {
    const t = newId('ten');
    const [a, b] = [instance(), instance()];
    // Two keys with limits of their own (a lease each), two without (the project's shared lease).
    const own = withProject(
      { maxConcurrent: 1_000 },
      { requestsPerMinute: 30 },
      { requestsPerMinute: 1_000 },
    );
    const shared = withProject({ maxConcurrent: 1_000 }, { requestsPerMinute: 30 });
    const results = await Promise.all(
      Array.from({ length: 120 }, (_, i) =>
        (i % 2 ? a : b).admit(
          quotaRequest(t, i % 4 < 2 ? own : shared, { keyId: ['key_a', 'key_b', 'key_c', 'key_d'][i % 4]! }),
        ),
      ),
    );
    expect(results.filter((r) => r.ok)).toHaveLength(30);
    const refusals = results.filter((r) => !r.ok);
    expect(refusals.every((r) => !r.ok && r.limit === 'rate_limit_requests' && r.scope === 'project')).toBe(
      true,
    );
    expect((await item(keys.quotaProjectMinute(t, 'proj_a', W.minute)))?.requests).toBe(30);
    await Promise.all([a.close(), b.close()]);
    // Given back: what the leases did not use leaves the project's window with the 30 admitted.
    expect((await item(keys.quotaProjectMinute(t, 'proj_a', W.minute)))?.requests).toBe(30);
  });

  it('another project, and the tenant’s keys outside projects, are not held back by a project’s limit', async () => {
    const t = newId('ten');
    const a = instance();
    const full = withProject({}, { requestsPerMinute: 2 });
    for (let i = 0; i < 2; i++) admitted(await a.admit(quotaRequest(t, full)));
    expect(await a.admit(quotaRequest(t, full))).toMatchObject({ ok: false, scope: 'project' });
    // Remembered as refused for this minute: refused again without the store.
    expect(await a.admit(quotaRequest(t, full, { keyId: 'key_z' }))).toMatchObject({
      ok: false,
      scope: 'project',
    });
    const other = withProject({}, { requestsPerMinute: 2 }, {}, 'proj_b');
    expect((await a.admit(quotaRequest(t, other, { keyId: 'key_b' }))).ok).toBe(true);
    expect((await a.admit(quotaRequest(t, limitsOf({}), { keyId: 'key_c' }))).ok).toBe(true);
    await a.close();
  });

  it('a project’s tokens per minute refuse with rate_limit_tokens naming the project', async () => {
    const t = newId('ten');
    const a = instance();
    const l = withProject({}, { tokensPerMinute: 35 });
    for (let i = 0; i < 3; i++) admitted(await a.admit(quotaRequest(t, l)));
    expect(await a.admit(quotaRequest(t, l))).toMatchObject({
      ok: false,
      limit: 'rate_limit_tokens',
      scope: 'project',
      limitValue: 35,
    });
    await a.close();
  });

  it('a hard-stop budget under leases of several keys and instances is never passed, and the counter ends equal to the ledger', async () => {
    const t = newId('ten');
    const instances = [instance(), instance(), instance()];
    // $0.00005 = 50,000 nano-USD; each request reserves 1,000 and uses 100 x its tokens (<= 1,000).
    const budget = 50_000;
    const perKey = (k: number) =>
      withProject(
        { maxConcurrent: 1_000 },
        { spendCapNanoUsd: budget },
        k < 2 ? { requestsPerMinute: 1_000 } : {},
      );
    const served: { adm: Admission; a: QuotaAdmission; keyId: string }[] = [];
    const results = await Promise.all(
      Array.from({ length: 120 }, async (_, i) => {
        const a = instances[i % 3]!;
        const keyId = `key_${i % 4}`;
        const r = await a.admit(quotaRequest(t, perKey(i % 4), { keyId }));
        if (r.ok) served.push({ adm: r.admission, a, keyId });
        return r;
      }),
    );
    const refused = results.filter((r) => !r.ok);
    expect(refused.length).toBeGreaterThan(0);
    expect(refused.every((r) => !r.ok && r.limit === 'spend_cap_reached' && r.scope === 'project')).toBe(
      true,
    );
    // Every admitted request uses its whole worst case: what is billed is what was reserved.
    await Promise.all(
      served.map(({ adm, a, keyId }) =>
        a.settle(
          adm,
          actual(10),
          usageEvent(t, adm.reservation.requestId, 10, { keyId, projectId: 'proj_a' }),
        ),
      ),
    );
    const billed = (await h.stores.usage.listEvents(t)).reduce((s, e) => s + e.costNanoUsd, 0);
    expect(billed).toBe(served.length * 1_000);
    expect(billed).toBeLessThanOrEqual(budget);
    await Promise.all(instances.map((a) => a.close()));
    expect(await h.stores.quotas.openReservations(t)).toEqual([]);
    expect((await item(keys.quotaProjectMonth(t, 'proj_a', W.month)))?.costNanoUsd).toBe(billed);
    expect((await item(keys.quotaMonth(t, W.month)))?.costNanoUsd).toBe(billed);
  });

  it('single reservations give the project’s counters back on release and correct them on settle', async () => {
    const t = newId('ten');
    const l = withProject({}, { requestsPerMinute: 10, spendCapNanoUsd: 10_000 });
    const first = await h.stores.quotas.reserve(quotaRequest(t, l));
    const second = await h.stores.quotas.reserve(quotaRequest(t, l));
    if (!first.ok || !second.ok) throw new Error('refused');
    expect(first.reservation).toMatchObject({ projectId: 'proj_a', projectMinute: true, projectMonth: true });
    expect((await item(keys.quotaProjectMonth(t, 'proj_a', W.month)))?.costNanoUsd).toBe(2_000);
    expect(await h.stores.quotas.release(first.reservation)).toBe(true);
    const r = second.reservation;
    expect(await h.stores.quotas.settle(r, actual(3), usageEvent(t, r.requestId, 3))).toBe('recorded');
    expect((await item(keys.quotaProjectMonth(t, 'proj_a', W.month)))?.costNanoUsd).toBe(300);
    // A released request still counts against the minute (as the tenant's and the key's windows do).
    expect(await item(keys.quotaProjectMinute(t, 'proj_a', W.minute))).toMatchObject({
      requests: 2,
      tokens: 3,
    });
  });

  it('an instance that dies holding a project lease: the sweeper gives the project back exactly what was not used', async () => {
    const t = newId('ten');
    const dead = instance();
    const l = withProject({ maxConcurrent: 20 }, { requestsPerMinute: 100, spendCapNanoUsd: 1_000_000 });
    const adms: Admission[] = [];
    for (let i = 0; i < 3; i++) adms.push(admitted(await dead.admit(quotaRequest(t, l))));
    expect(adms.every((x) => x.kind === 'lease')).toBe(true);
    for (const [i, tokens] of [3, 5].entries()) {
      const adm = adms[i]!;
      await dead.settle(adm, actual(tokens), usageEvent(t, adm.reservation.requestId, tokens));
    }
    expect(Number((await item(keys.quotaProjectMonth(t, 'proj_a', W.month)))?.costNanoUsd)).toBeGreaterThan(
      800,
    );
    const later = new Date(NOW.getTime() + 5_000 + TTL_MS + 1);
    expect(await h.stores.quotas.sweepExpired(later)).toBeGreaterThanOrEqual(1);
    expect(await h.stores.quotas.openReservations(t)).toEqual([]);
    expect((await item(keys.quotaProjectMonth(t, 'proj_a', W.month)))?.costNanoUsd).toBe(800);
    expect((await item(keys.quotaMonth(t, W.month)))?.costNanoUsd).toBe(800);
  });

  it('a project without limits writes no project counter and reads none', async () => {
    const t = newId('ten');
    const a = instance();
    const l = limitsOf({ requestsPerMinute: 100, spendCapNanoUsd: 1_000_000 });
    for (let i = 0; i < 5; i++) {
      const adm = admitted(await a.admit(quotaRequest(t, l)));
      expect(adm.reservation).not.toHaveProperty('projectId');
      await a.settle(adm, actual(1), usageEvent(t, adm.reservation.requestId, 1));
    }
    const single = await h.stores.quotas.reserve(quotaRequest(t, l));
    if (!single.ok) throw new Error('refused');
    expect(single.reservation).not.toHaveProperty('projectMonth');
    await h.stores.quotas.release(single.reservation);
    await a.close();
    expect(await item(keys.quotaProjectMonth(t, 'proj_default', W.month))).toBeUndefined();
    expect(await item(keys.quotaProjectMinute(t, 'proj_default', W.minute))).toBeUndefined();
    const peek = await h.stores.quotas.peek(t, 'key_a', NOW);
    expect(peek).not.toHaveProperty('project');
    expect(peek).not.toHaveProperty('projectMonth');
  });
});

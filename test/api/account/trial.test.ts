import { beforeAll, describe, expect, it } from 'vitest';
import { trialGrantId } from '#shared/credits/credit-store';
import { sweepReservations } from '../../../functions/jobs/sweep-reservations';
import {
  addMember,
  createKey,
  expectError,
  json,
  login,
  newEmail,
  newOperator,
  newOwner,
  PASSWORD,
  type TestOperator,
  type TestUser,
  tokenFrom,
} from '../../support/accounts';
import { createHarness, type Harness } from '../../support/harness';

type Settings = {
  object: string;
  billing_mode: 'prepaid' | 'postpaid';
  free_only: boolean;
  balance_usd: string;
  trial: { amount_usd: string; left_usd: string; expires_at: string; status: string } | null;
  exhausted_at: string | null;
  low_balance_alerts_usd: string[];
  low_balance_notices: { threshold_usd: string; balance_usd: string; at: string; notified: string | null }[];
};
type Plan = { id: string; trial_usd: string | null; trial_days: number | null };

const FUTURE = '2099-01-01T00:00:00Z';
/** A trial this small runs out after a handful of sentiment calls. */
const TINY_TRIAL = '0.00002';

describe('trial grants, free-only and low-balance alerts', () => {
  let h: Harness;
  let op: TestOperator;
  beforeAll(async () => {
    h = await createHarness();
    op = await newOperator(h);
  });

  const patchPlan = (id: string, body: unknown) =>
    h.call(`/admin/plans/${id}`, { key: op.token, method: 'PATCH', json: body });
  const settings = async (user: TestUser) => {
    const res = await h.call('/account/credits/settings', { key: user.token });
    expect(res.status, await res.clone().text()).toBe(200);
    return json<Settings>(res);
  };
  const patchSettings = (user: TestUser, body: unknown) =>
    h.call('/account/credits/settings', { key: user.token, method: 'PATCH', json: body });
  const sentiment = (secret: string, input = 'a fine day for a walk') =>
    h.call('/v1/text/sentiment', { key: secret, json: { model: 'sentiment', input } });
  const sweep = () =>
    sweepReservations(h.stores.quotas, new Date(), h.stores.usage, {
      notices: h.deps.creditNotices,
      tenants: h.stores.tenants,
    });
  const emails = (to: string, kind: string) => h.outbox.list(to).filter((m) => m.kind === kind);
  const audit = async (action: string, tenantId: string) => {
    const res = await h.call('/admin/audit?limit=200', { key: op.token });
    const body = await json<{
      data: { action: string; target: { id: string }; after: unknown; actor: unknown }[];
    }>(res);
    return body.data.filter((e) => e.action === action && e.target.id === tenantId);
  };
  const setTrial = async (amount: string, days: number) => {
    const res = await patchPlan('free', { trial_usd: amount, trial_days: days });
    expect(res.status, await res.clone().text()).toBe(200);
  };

  it('operators set a plan’s trial; bad values are refused naming the field and change nothing', async () => {
    const before = await json<Plan>(await h.call('/admin/plans/free', { key: op.token }));
    expect(before).toMatchObject({ trial_usd: null, trial_days: null });
    const cases: [unknown, string][] = [
      [{ trial_usd: '-1', trial_days: 5 }, 'trial_usd'],
      [{ trial_usd: 'five', trial_days: 5 }, 'trial_usd'],
      [{ trial_usd: '0.0000000001', trial_days: 5 }, 'trial_usd'],
      [{ trial_usd: '5', trial_days: -1 }, 'trial_days'],
      [{ trial_usd: '5', trial_days: 2.5 }, 'trial_days'],
      [{ trial_usd: '5', trial_days: 5000 }, 'trial_days'],
      [{ trial_usd: '5', trial_days: '30' }, 'trial_days'],
      // An amount with no validity, and a validity with no amount.
      [{ trial_usd: '5' }, 'trial_days'],
      [{ trial_days: 30 }, 'trial_usd'],
    ];
    for (const [body, param] of cases)
      await expectError(await patchPlan('free', body), 400, 'invalid_request', param);
    expect(await json<Plan>(await h.call('/admin/plans/free', { key: op.token }))).toEqual(before);

    const set = await patchPlan('free', { trial_usd: '5.00', trial_days: 30 });
    expect(set.status).toBe(200);
    expect(await json<Plan>(set)).toMatchObject({ trial_usd: '5.000000000', trial_days: 30 });
    // 0 means none: both go.
    const none = await patchPlan('free', { trial_usd: 0 });
    expect(await json<Plan>(none)).toMatchObject({ trial_usd: null, trial_days: null });
    // A new plan may carry one from the start.
    const made = await h.call('/admin/plans', {
      key: op.token,
      json: { id: `trial-${Date.now()}`, name: 'Trial', overage: 'bill', trial_usd: 1, trial_days: 14 },
    });
    expect(made.status, await made.clone().text()).toBe(201);
    expect(await json<Plan>(made)).toMatchObject({ trial_usd: '1.000000000', trial_days: 14 });
    const updates = await audit('plan.update', 'free');
    expect(updates[0]?.after).not.toHaveProperty('trialNanoUsd');
    expect(updates[1]?.after).toMatchObject({ trialNanoUsd: 5_000_000_000, trialDays: 30 });
  });

  it('no trial on the plan: a new tenant stays postpaid with free-only off', async () => {
    const owner = await newOwner(h);
    expect(await settings(owner)).toMatchObject({ billing_mode: 'postpaid', free_only: false, trial: null });
    expect(await h.stores.quotas.credits.grants(owner.tenantId)).toEqual([]);
  });

  it('a verified tenant gets one trial grant, however often and however concurrently it verifies', async () => {
    await setTrial('2.50', 10);
    const email = newEmail('trial');
    const signup = await h.call('/auth/signup', {
      json: { email, password: PASSWORD, name: 'Trial Owner', company: 'Trial Co' },
    });
    expect(signup.status).toBe(202);
    const first = tokenFrom(h, email, 'verify_email');
    expect((await h.call('/auth/verify/resend', { json: { email } })).status).toBe(202);
    const second = tokenFrom(h, email, 'verify_email');
    expect(second).not.toBe(first);
    // Both tokens, each several times, at once.
    const answers = await Promise.all(
      [first, second, first, second, first, second, first, second].map((token) =>
        h.call('/auth/verify', { json: { token } }),
      ),
    );
    expect(answers.filter((r) => r.status === 200).length).toBeGreaterThanOrEqual(1);
    for (const r of answers) expect([200, 400]).toContain(r.status);
    const { body } = await login(h, email, PASSWORD);
    const tenantId = body.subject.tenant_id!;
    // And once more later, with a fresh token (the account is verified: no email, nothing granted).
    await h.call('/auth/verify/resend', { json: { email } });

    const grants = await h.stores.quotas.credits.grants(tenantId);
    expect(grants).toHaveLength(1);
    expect(grants[0]).toMatchObject({
      id: trialGrantId(tenantId),
      kind: 'trial',
      amountNanoUsd: 2_500_000_000,
    });
    const days = (Date.parse(grants[0]!.expiresAt) - Date.parse(grants[0]!.createdAt)) / 86_400_000;
    expect(days).toBe(10);
    const tenant = await h.stores.tenants.get(tenantId);
    expect(tenant).toMatchObject({ status: 'active', billingMode: 'prepaid', freeOnly: true });
    const owner = { token: body.access_token } as TestUser;
    const view = await settings(owner);
    expect(view).toMatchObject({
      billing_mode: 'prepaid',
      free_only: true,
      balance_usd: '2.500000000',
      trial: { amount_usd: '2.500000000', left_usd: '2.500000000', status: 'active' },
      exhausted_at: null,
    });
    const entries = await h.stores.quotas.credits.entries(tenantId, { limit: 10 });
    expect(entries !== 'bad_cursor' && entries.entries.map((e) => e.type)).toEqual(['grant']);
    const grantsAudited = await audit('tenant.credit_grant', tenantId);
    expect(grantsAudited).toHaveLength(1);
    expect(grantsAudited[0]!.actor).toEqual({ kind: 'system', id: 'trial' });
  });

  it('free-only: the trial runs out, calls get 429 insufficient_balance, and the owner gets ONE email per exhaustion', async () => {
    await setTrial(TINY_TRIAL, 7);
    const owner = await newOwner(h);
    // Over a hundred calls in waves: past the Free plan's 60 a minute and 4 at once, so those are
    // lifted for this tenant, and only its balance refuses (else a refusal could be the minute's).
    const roomy = await h.call(`/admin/tenants/${owner.tenantId}/limits`, {
      key: op.token,
      method: 'PATCH',
      json: { requests_per_minute: 100_000, max_concurrent: 1_000 },
    });
    expect(roomy.status, await roomy.clone().text()).toBe(200);
    const key = await createKey(h, owner);
    expect((await settings(owner)).trial?.amount_usd).toBe('0.000020000');

    // Call in concurrent waves until the credit cannot pay; then a wave that is all refusals.
    let refused: Response | undefined;
    for (let wave = 0; wave < 20 && !refused; wave++) {
      const answers = await Promise.all(Array.from({ length: 10 }, () => sentiment(key.secret)));
      refused = answers.find((r) => r.status !== 200);
      for (const r of answers) expect([200, 429]).toContain(r.status);
    }
    expect(refused, 'the trial never ran out').toBeDefined();
    const err = await expectError(refused!.clone(), 429, 'insufficient_balance');
    expect(err.message).toMatch(/free credit has run out/);
    expect(err.message).toMatch(/nothing was charged/);
    expect(refused!.headers.get('x-should-retry')).toBe('false');
    expect(refused!.headers.get('retry-after')).toBeNull();
    // What a refused wave's reservations held unused comes back, so a few more may fit; then
    // every call is refused.
    let allRefused = false;
    for (let wave = 0; wave < 20 && !allRefused; wave++) {
      const more = await Promise.all(Array.from({ length: 15 }, () => sentiment(key.secret)));
      allRefused = more.every((r) => r.status === 429);
    }
    expect(allRefused).toBe(true);
    await expectError(await sentiment(key.secret), 429, 'insufficient_balance');

    expect(emails(owner.email, 'trial_exhausted')).toHaveLength(1);
    expect(emails(owner.email, 'trial_exhausted')[0]!.text).toMatch(/top up|upgrade/);
    const view = await settings(owner);
    expect(view.exhausted_at).not.toBeNull();
    // Nothing beyond the trial was used, and nothing is invoiced.
    const used = (await h.stores.usage.listEvents(owner.tenantId, undefined, { all: true })).reduce(
      (s, e) => s + e.costNanoUsd,
      0,
    );
    expect(used).toBeGreaterThan(0);
    expect(used).toBeLessThanOrEqual(20_000);

    // New credit ends the exhaustion; the next one is told again, once.
    const granted = await h.call(`/admin/tenants/${owner.tenantId}/credits`, {
      key: op.token,
      json: { amount_usd: TINY_TRIAL, kind: 'trial', expires_at: FUTURE, note: 'more trial' },
    });
    expect(granted.status).toBe(201);
    expect((await settings(owner)).exhausted_at).toBeNull();
    let again = false;
    for (let wave = 0; wave < 20 && !again; wave++) {
      const answers = await Promise.all(Array.from({ length: 10 }, () => sentiment(key.secret)));
      for (const r of answers)
        if (r.status !== 200) await expectError(r.clone(), 429, 'insufficient_balance');
      again = answers.some((r) => r.status === 429);
    }
    expect(again).toBe(true);
    await Promise.all(Array.from({ length: 10 }, () => sentiment(key.secret)));
    expect(emails(owner.email, 'trial_exhausted')).toHaveLength(2);
  });

  it('the owner turns free-only off (postpaid without paid credit) and on again; audited; developers may not', async () => {
    await setTrial(TINY_TRIAL, 7);
    const owner = await newOwner(h);
    const key = await createKey(h, owner);
    const dev = await addMember(h, owner, 'developer');
    await expectError(await patchSettings(dev, { free_only: false }), 403, 'forbidden');
    for (let i = 0; i < 200; i++) if ((await sentiment(key.secret)).status === 429) break;
    await expectError(await sentiment(key.secret), 429, 'insufficient_balance');

    const off = await patchSettings(owner, { free_only: false });
    expect(off.status, await off.clone().text()).toBe(200);
    expect(await json<Settings>(off)).toMatchObject({ free_only: false, billing_mode: 'postpaid' });
    // Paid use as the plan defines it: the Free plan's included units.
    expect((await sentiment(key.secret)).status).toBe(200);
    const [entry] = await audit('tenant.free_only', owner.tenantId);
    expect(entry).toMatchObject({
      after: { freeOnly: false, billingMode: 'postpaid' },
      actor: { kind: 'user', id: owner.userId, email: owner.email },
    });

    const on = await json<Settings>(await patchSettings(owner, { free_only: true }));
    expect(on).toMatchObject({ free_only: true, billing_mode: 'prepaid' });
    await expectError(await sentiment(key.secret), 429, 'insufficient_balance');
    // With paid credit, turning it off keeps the tenant prepaid: what it bought is spent.
    await h.call(`/admin/tenants/${owner.tenantId}/credits`, {
      key: op.token,
      json: { amount_usd: '1', kind: 'paid', expires_at: FUTURE },
    });
    const offPaid = await json<Settings>(await patchSettings(owner, { free_only: false }));
    expect(offPaid).toMatchObject({ free_only: false, billing_mode: 'prepaid' });
    // Operators switch it too.
    const opOn = await h.call(`/admin/tenants/${owner.tenantId}/credits`, {
      key: op.token,
      method: 'PATCH',
      json: { free_only: true },
    });
    expect(opOn.status, await opOn.clone().text()).toBe(200);
    expect(await json<{ free_only: boolean; billing_mode: string }>(opOn)).toMatchObject({
      free_only: true,
      billing_mode: 'prepaid',
    });
    await expectError(
      await h.call(`/admin/tenants/${owner.tenantId}/credits`, { key: op.token, method: 'PATCH', json: {} }),
      400,
      'invalid_request',
      'billing_mode',
    );
    await expectError(await patchSettings(owner, { free_only: 'no' }), 400, 'invalid_request', 'free_only');
  });

  it('on expiry: the trial credit left leaves the balance, calls are refused, and the owner is told once', async () => {
    await setTrial('0', 0);
    const owner = await newOwner(h);
    const key = await createKey(h, owner);
    expect((await json<Settings>(await patchSettings(owner, { free_only: true }))).billing_mode).toBe(
      'prepaid',
    );
    const expiresAt = new Date(Date.now() + 3_000).toISOString();
    const granted = await h.call(`/admin/tenants/${owner.tenantId}/credits`, {
      key: op.token,
      json: { amount_usd: '1', kind: 'trial', expires_at: expiresAt },
    });
    expect(granted.status).toBe(201);
    expect((await sentiment(key.secret)).status).toBe(200);
    await new Promise((r) => setTimeout(r, Date.parse(expiresAt) - Date.now() + 200));
    const refused = await Promise.all(Array.from({ length: 5 }, () => sentiment(key.secret)));
    for (const r of refused) {
      const err = await expectError(r, 429, 'insufficient_balance');
      expect(err.message).toMatch(/free credit has run out/);
    }
    expect(emails(owner.email, 'trial_exhausted')).toHaveLength(1);
    const s = await h.stores.quotas.credits.statement(owner.tenantId, new Date());
    expect(s.balanceNanoUsd).toBe(0);
    expect(s.grants[0]?.status).not.toBe('active');
  });

  it('low-balance alerts: bad thresholds are refused naming the field; each crossing emails once, re-armed above', async () => {
    await setTrial('0', 0);
    const owner = await newOwner(h);
    const other = await newOwner(h);
    const key = await createKey(h, owner);
    await h.call(`/admin/tenants/${owner.tenantId}/credits`, {
      key: op.token,
      method: 'PATCH',
      json: { billing_mode: 'prepaid' },
    });
    await h.call(`/admin/tenants/${owner.tenantId}/credits`, {
      key: op.token,
      json: { amount_usd: '0.00003', kind: 'promotional', expires_at: FUTURE },
    });

    const before = await settings(owner);
    const bad: [unknown, string | null][] = [
      [{ low_balance_alerts_usd: [-1] }, 'low_balance_alerts_usd[0]'],
      [{ low_balance_alerts_usd: ['1', 'abc'] }, 'low_balance_alerts_usd[1]'],
      [{ low_balance_alerts_usd: [0] }, 'low_balance_alerts_usd[0]'],
      [{ low_balance_alerts_usd: [1, 2, 3, 4, 5, 6] }, 'low_balance_alerts_usd'],
      [{ low_balance_alerts_usd: [1, '1.0'] }, 'low_balance_alerts_usd'],
      [{ low_balance_alerts_usd: [2_000_000] }, 'low_balance_alerts_usd[0]'],
      [{ low_balance_alerts_usd: '5' }, 'low_balance_alerts_usd'],
      [{ thresholds: [5] }, null],
    ];
    for (const [body, param] of bad)
      await expectError(await patchSettings(owner, body), 400, 'invalid_request', param);
    expect(await settings(owner)).toEqual(before);

    const set = await patchSettings(owner, { low_balance_alerts_usd: ['0.00002', 0.000001] });
    expect(set.status, await set.clone().text()).toBe(200);
    expect((await json<Settings>(set)).low_balance_alerts_usd).toEqual(['0.000020000', '0.000001000']);
    expect(await audit('tenant.low_balance_alerts', owner.tenantId)).toHaveLength(1);
    // Another tenant's settings are its own.
    expect((await settings(other)).low_balance_alerts_usd).toEqual([]);

    await sweep();
    expect(emails(owner.email, 'low_balance')).toHaveLength(0);
    const spendBelow = async (nano: number) => {
      for (let i = 0; i < 300; i++) {
        const s = await h.stores.quotas.credits.statement(owner.tenantId, new Date());
        if (s.balanceNanoUsd < nano) return;
        expect((await sentiment(key.secret)).status).toBe(200);
      }
      throw new Error('the balance never went below the threshold');
    };
    await spendBelow(20_000);
    // Concurrent sweeps: one crossing, one email.
    await Promise.all([sweep(), sweep(), sweep(), sweep()]);
    await sweep();
    const first = emails(owner.email, 'low_balance');
    expect(first).toHaveLength(1);
    expect(first[0]!.subject).toMatch(/below \$0\.000020000/);
    const notices = (await settings(owner)).low_balance_notices;
    expect(notices).toHaveLength(1);
    expect(notices[0]).toMatchObject({ threshold_usd: '0.000020000', notified: owner.email });

    // A grant lifts it back above: re-armed (no email); the next crossing emails again.
    await h.call(`/admin/tenants/${owner.tenantId}/credits`, {
      key: op.token,
      json: { amount_usd: '0.00002', kind: 'promotional', expires_at: FUTURE },
    });
    await sweep();
    expect(emails(owner.email, 'low_balance')).toHaveLength(1);
    expect((await h.stores.quotas.credits.balance(owner.tenantId))?.lowFired).toEqual({});
    await spendBelow(20_000);
    await Promise.all([sweep(), sweep()]);
    expect(emails(owner.email, 'low_balance')).toHaveLength(2);
    expect((await settings(owner)).low_balance_notices).toHaveLength(2);
    expect(emails(other.email, 'low_balance')).toHaveLength(0);

    // [] removes them: nothing more fires.
    const cleared = await json<Settings>(await patchSettings(owner, { low_balance_alerts_usd: [] }));
    expect(cleared.low_balance_alerts_usd).toEqual([]);
  }, 90_000);
});

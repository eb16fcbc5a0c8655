import { describe, expect, it } from 'vitest';
import { csvField, toCsv } from '#api/console/usage-report';
import { usdToNano } from '../../shared/metering/pricing';
import { reachedThresholds } from '../../shared/quotas/alerts';
import { budgetOf, reachedBudgetThresholds, recipientAddresses } from '../../shared/quotas/key-budget-rules';
import { leaseKey } from '../../shared/quotas/lease-sizing';
import { applyPlanPatch, validatePlan } from '../../shared/quotas/limits-admin';
import { defaultPlans, effectiveLimits } from '../../shared/quotas/plans';
import { windowsAt } from '../../shared/quotas/windows';

const plan = (id: string) => defaultPlans.find((p) => p.id === id)!;

describe('effective limits', () => {
  it('free: hard stop at the included units, no spend cap', () => {
    const l = effectiveLimits(plan('free'));
    expect(l.tenant.monthlyUnits).toEqual(plan('free').included);
    expect(l.tenant.spendCapNanoUsd).toBeUndefined();
    expect(l.tenant.requestsPerMinute).toBe(60);
    // A unit a hard-stop plan does not list is not included at all (not unlimited).
    const noImages = effectiveLimits({ ...plan('free'), included: { input_tokens: 10 } });
    expect(noImages.tenant.monthlyUnits).toEqual({ input_tokens: 10, output_tokens: 0, images: 0 });
  });

  it('pay-as-you-go: no unit ceiling, the spend cap is the lower of plan and owner', () => {
    const p = plan('payg');
    expect(effectiveLimits(p).tenant.monthlyUnits).toEqual({});
    expect(effectiveLimits(p).tenant.spendCapNanoUsd).toBe(p.spendCapNanoUsd);
    expect(effectiveLimits(p, { ownerSpendCapNanoUsd: 5 }).tenant.spendCapNanoUsd).toBe(5);
    // An owner cannot raise the cap above the plan's (or the operator's override).
    expect(effectiveLimits(p, { ownerSpendCapNanoUsd: p.spendCapNanoUsd! * 10 }).tenant.spendCapNanoUsd).toBe(
      p.spendCapNanoUsd,
    );
  });

  it('operator overrides may raise limits; key limits only narrow and stay per key', () => {
    const l = effectiveLimits(plan('free'), {
      tenantOverrides: { requestsPerMinute: 1_000, included: { images: 9 } },
      keyLimits: { requestsPerMinute: 3 },
    });
    expect(l.tenant.requestsPerMinute).toBe(1_000);
    expect(l.tenant.monthlyUnits.images).toBe(9);
    expect(l.key.requestsPerMinute).toBe(3);
  });

  it("a key's own spend cap is the key's, whatever the plan", () => {
    for (const id of ['free', 'payg']) {
      expect(effectiveLimits(plan(id), { keyLimits: { spendCapNanoUsd: 7 } }).key.spendCapNanoUsd).toBe(7);
    }
    expect(effectiveLimits(plan('payg')).included).toEqual(plan('payg').included);
  });

  it('an alert-only budget is no limit at admission: the key shares the tenant’s lease, as a key without one', () => {
    const hard = effectiveLimits(plan('payg'), {
      keyLimits: { spendCapNanoUsd: 7, budgetMode: 'hard_stop' },
    });
    const soft = effectiveLimits(plan('payg'), {
      keyLimits: { spendCapNanoUsd: 7, budgetMode: 'alert_only' },
    });
    expect(hard.key.spendCapNanoUsd).toBe(7);
    expect(soft).toEqual(effectiveLimits(plan('payg')));
    const req = (limits: typeof soft) =>
      leaseKey({ tenantId: 't', keyId: 'k', limits } as Parameters<typeof leaseKey>[0]);
    expect(req(soft)).toBe('t');
    expect(req(hard)).toBe('t#k');
  });
});

describe('key budgets', () => {
  it('a cap without a mode is a hard stop alerting at 50, 80 and 100% to the owners and the creator', () => {
    expect(budgetOf(null)).toBeUndefined();
    expect(budgetOf({ requestsPerMinute: 5 })).toBeUndefined();
    const b = budgetOf({ spendCapNanoUsd: 1_000 })!;
    expect(b.mode).toBe('hard_stop');
    expect(b.alerts).toEqual(
      [50, 80, 100].map((threshold) => ({ threshold, recipients: [{ kind: 'owner' }, { kind: 'creator' }] })),
    );
    expect(budgetOf({ spendCapNanoUsd: 1_000, budgetAlerts: [] })!.alerts).toEqual([]);
  });

  it('thresholds are reached exactly, in integers, even for the largest budgets', () => {
    const b = budgetOf({ spendCapNanoUsd: 1_000 })!;
    expect(reachedBudgetThresholds(b, 499).map((r) => r.threshold)).toEqual([]);
    expect(reachedBudgetThresholds(b, 500).map((r) => r.threshold)).toEqual([50]);
    expect(reachedBudgetThresholds(b, 999).map((r) => r.threshold)).toEqual([50, 80]);
    expect(reachedBudgetThresholds(b, 5_000).map((r) => r.threshold)).toEqual([50, 80, 100]);
    // $1,000,000 in nano-USD times 100 is past 2^53: still exact.
    const big = budgetOf({ spendCapNanoUsd: 1e15 })!;
    expect(reachedBudgetThresholds(big, 1e15 - 1).map((r) => r.threshold)).toEqual([50, 80]);
    expect(reachedBudgetThresholds(big, 1e15).map((r) => r.threshold)).toEqual([50, 80, 100]);
  });

  it('recipients are members now: owners, the creator, named members; nobody left means the owners', () => {
    const m = (userId: string, role: 'owner' | 'developer', email: string) => ({
      userId,
      tenantId: 't',
      email,
      name: null,
      role,
      joinedAt: '2026-01-01T00:00:00Z',
    });
    const team = [m('u1', 'owner', 'o1@x.io'), m('u2', 'owner', 'o2@x.io'), m('u3', 'developer', 'd@x.io')];
    expect(recipientAddresses([{ kind: 'owner' }], team, 'u3')).toEqual(['o1@x.io', 'o2@x.io']);
    expect(recipientAddresses([{ kind: 'creator' }, { kind: 'owner' }], team, 'u1')).toEqual([
      'o1@x.io',
      'o2@x.io',
    ]);
    expect(recipientAddresses([{ kind: 'member', userId: 'u3', email: 'old@x.io' }], team, null)).toEqual([
      'd@x.io',
    ]);
    // The creator left, the named member left: the owners are told instead of nobody.
    expect(
      recipientAddresses(
        [{ kind: 'creator' }, { kind: 'member', userId: 'gone', email: 'g@x.io' }],
        team,
        'gone',
      ),
    ).toEqual(['o1@x.io', 'o2@x.io']);
  });
});

describe('alert thresholds', () => {
  const limits = effectiveLimits(plan('payg'), { ownerSpendCapNanoUsd: 1_000 });

  it('reach 50, 80 and 100% of the spend cap and of each included unit, by exact integer arithmetic', () => {
    expect(reachedThresholds({ units: {}, costNanoUsd: 499 }, limits)).toEqual([]);
    expect(reachedThresholds({ units: {}, costNanoUsd: 500 }, limits)).toEqual([
      { metric: 'spend', threshold: 50, used: 500, limit: 1_000 },
    ]);
    expect(
      reachedThresholds({ units: { images: 500 }, costNanoUsd: 1_000 }, limits).map(
        (r) => `${r.metric}:${r.threshold}`,
      ),
    ).toEqual([
      'spend:50',
      'spend:80',
      'spend:100',
      'included_images:50',
      'included_images:80',
      'included_images:100',
    ]);
  });

  it('measure nothing that has no limit', () => {
    const none = effectiveLimits({ id: 'x', name: 'x', overage: 'bill', included: {} });
    expect(reachedThresholds({ units: { input_tokens: 1e9 }, costNanoUsd: 1e12 }, none)).toEqual([]);
  });
});

describe('plan edits', () => {
  it('apply a patch: absent stays, null removes, included per unit', () => {
    const p = applyPlanPatch(plan('free'), {
      requestsPerMinute: null,
      tokensPerMinute: 9,
      included: { images: null, output_tokens: 5 },
      name: 'Free (2026)',
    });
    expect(p).toEqual({
      id: 'free',
      name: 'Free (2026)',
      overage: 'hard_stop',
      included: { input_tokens: 1_000_000, output_tokens: 5 },
      tokensPerMinute: 9,
      maxConcurrent: 4,
      selfServe: true,
    });
    expect(plan('free').requestsPerMinute).toBe(60);
  });

  it('refuse a spend cap on a hard-stop plan, naming the field', () => {
    expect(validatePlan({ ...plan('free'), spendCapNanoUsd: 1 })).toMatchObject({ field: 'spendCapNanoUsd' });
    expect(validatePlan(plan('payg'))).toBeUndefined();
  });
});

describe('money and CSV', () => {
  it('USD amounts become exact nano-USD, or null', () => {
    expect(usdToNano(25)).toBe(25_000_000_000);
    expect(usdToNano('25.50')).toBe(25_500_000_000);
    expect(usdToNano(0.1)).toBe(100_000_000);
    expect(usdToNano('0.000000001')).toBe(1);
    for (const bad of [-1, 1e-10, '1e3', '1.', '', 'abc', Number.NaN]) expect(usdToNano(bad)).toBeNull();
  });

  it('CSV is RFC 4180: quoted when needed, quotes doubled, CRLF, a header row', () => {
    expect(csvField('plain')).toBe('plain');
    expect(csvField('a,b')).toBe('"a,b"');
    expect(csvField('say "hi"')).toBe('"say ""hi"""');
    expect(csvField('two\nlines')).toBe('"two\nlines"');
    expect(toCsv(['a', 'b'], [[1, 'x,y']])).toBe('a,b\r\n1,"x,y"\r\n');
  });
});

describe('windows', () => {
  it('name the UTC minute and month and count down to their ends', () => {
    const w = windowsAt(new Date('2026-02-28T23:59:15.500Z'));
    expect(w).toEqual({
      minute: '2026-02-28T23:59',
      month: '2026-02',
      minuteResetSec: 45,
      monthResetSec: 45,
    });
    expect(windowsAt(new Date('2026-03-01T00:00:00.000Z')).minuteResetSec).toBe(60);
  });
});

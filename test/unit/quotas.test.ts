import { describe, expect, it } from 'vitest';
import { defaultPlans, effectiveLimits } from '../../shared/quotas/plans';
import { windowsAt } from '../../shared/quotas/windows';

const plan = (id: string) => defaultPlans.find((p) => p.id === id)!;

describe('effective limits', () => {
  it('free: hard stop at the included units, no spend cap', () => {
    const l = effectiveLimits(plan('free'));
    expect(l.tenant.monthlyUnits).toEqual(plan('free').included);
    expect(l.tenant.spendCapNanoUsd).toBeUndefined();
    expect(l.tenant.requestsPerMinute).toBe(60);
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

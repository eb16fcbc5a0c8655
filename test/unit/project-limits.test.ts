import { describe, expect, it } from 'vitest';
import { keys } from '../../shared/db/keys';
import type { Project } from '../../shared/projects/project';
import { ProjectLimitsCache } from '../../shared/projects/project-limits';
import { counterFlags, grantItems, impossible } from '../../shared/quotas/grant-items';
import { leaseAsk, leaseKey } from '../../shared/quotas/lease-sizing';
import { defaultPlans, effectiveLimits } from '../../shared/quotas/plans';
import {
  projectBudgetOf,
  projectRecipients,
  reachedProjectThresholds,
} from '../../shared/quotas/project-budgets';
import type { ReservationRequest } from '../../shared/quotas/quota-types';

const payg = defaultPlans.find((p) => p.id === 'payg')!;
const NOW = new Date('2036-05-10T12:00:30.000Z');
const amount = { requests: 1, slots: 1, tokens: 10, units: { input_tokens: 10 }, costNanoUsd: 1_000 };
const project = (limits: Project['limits']) => ({ id: 'proj_a', limits });
const request = (limits: ReturnType<typeof effectiveLimits>, keyId = 'key_a'): ReservationRequest => ({
  tenantId: 'ten_1',
  keyId,
  requestId: 'req_1',
  now: NOW,
  limits,
  tokens: 10,
  units: { input_tokens: 10 },
  costNanoUsd: 1_000,
  ttlMs: 60_000,
});

describe('project limits at admission', () => {
  it('a project without limits (or with only an alert-only budget) adds nothing: no flag, no counter item, the same lease', () => {
    const plain = effectiveLimits(payg);
    for (const p of [
      project(null),
      project({}),
      project({ budgetNanoUsd: 5_000, budgetMode: 'alert_only' }),
    ]) {
      const l = effectiveLimits(payg, { project: p });
      expect(l).toEqual(plain);
      expect(JSON.stringify(l)).toBe(JSON.stringify(plain));
      expect(counterFlags(l)).toEqual(counterFlags(plain));
      expect(counterFlags(l)).not.toHaveProperty('projectId');
      const items = grantItems(
        'main',
        { tenantId: 'ten_1', keyId: 'key_a', now: NOW, limits: l, flags: counterFlags(l) },
        amount,
      );
      expect(items).toHaveLength(
        grantItems(
          'main',
          { tenantId: 'ten_1', keyId: 'key_a', now: NOW, limits: plain, flags: counterFlags(plain) },
          amount,
        ).length,
      );
      expect(leaseKey(request(l))).toBe('ten_1');
    }
  });

  it('per-minute limits move the project minute counter; a hard-stop budget (the default mode) its month counter', () => {
    const l = effectiveLimits(payg, {
      project: project({ requestsPerMinute: 30, tokensPerMinute: 900, budgetNanoUsd: 5_000 }),
    });
    expect(l.project).toEqual({
      id: 'proj_a',
      requestsPerMinute: 30,
      tokensPerMinute: 900,
      spendCapNanoUsd: 5_000,
    });
    const flags = counterFlags(l);
    expect(flags).toMatchObject({ projectId: 'proj_a', projectMinute: true, projectMonth: true });
    const items = grantItems(
      'main',
      { tenantId: 'ten_1', keyId: 'key_a', now: NOW, limits: l, flags },
      amount,
    );
    const minuteKey = keys.quotaProjectMinute('ten_1', 'proj_a', '2036-05-10T12:00');
    const monthKey = keys.quotaProjectMonth('ten_1', 'proj_a', '2036-05');
    const minute = items.find((i) => i.item.Update?.Key?.sk === minuteKey.sk)!;
    const month = items.find((i) => i.item.Update?.Key?.sk === monthKey.sk)!;
    expect(minute.item.Update?.ExpressionAttributeValues).toMatchObject({ ':rmax': 29, ':tmax': 890 });
    expect(month.item.Update?.ExpressionAttributeValues).toMatchObject({ ':maxcost': 4_000 });
    // Each failed condition names the project.
    expect(minute.on({ requests: 30 })).toMatchObject({
      limit: 'rate_limit_requests',
      scope: 'project',
      limitValue: 30,
    });
    expect(minute.on({ requests: 1, tokens: 895 })).toMatchObject({
      limit: 'rate_limit_tokens',
      scope: 'project',
      limitValue: 900,
    });
    expect(month.on({ costNanoUsd: 4_500 })).toMatchObject({
      limit: 'spend_cap_reached',
      scope: 'project',
      limitValue: 5_000,
      used: 4_500,
    });
    // Keys without limits of their own in a project with limits share the project's lease.
    expect(leaseKey(request(l, 'key_a'))).toBe('ten_1#project#proj_a');
    expect(leaseKey(request(l, 'key_b'))).toBe('ten_1#project#proj_a');
    // A key with its own limits keeps its own lease (which moves the project's counters too).
    const own = effectiveLimits(payg, {
      keyLimits: { requestsPerMinute: 5 },
      project: project({ budgetNanoUsd: 5_000 }),
    });
    expect(leaseKey(request(own, 'key_b'))).toBe('ten_1#key_b');
  });

  it('only the minute or only the month, as the project limits say', () => {
    const minuteOnly = counterFlags(effectiveLimits(payg, { project: project({ tokensPerMinute: 100 }) }));
    expect(minuteOnly).toMatchObject({ projectMinute: true, projectMonth: false });
    const alertBudget = counterFlags(
      effectiveLimits(payg, {
        project: project({ requestsPerMinute: 9, budgetNanoUsd: 1, budgetMode: 'alert_only' }),
      }),
    );
    expect(alertBudget).toMatchObject({ projectMinute: true, projectMonth: false });
  });

  it('a request larger than the project’s whole allowance is refused without a store round trip, naming the project', () => {
    const l = effectiveLimits(payg, { project: project({ tokensPerMinute: 5, budgetNanoUsd: 500 }) });
    expect(impossible(l, { tokens: 6, units: {}, costNanoUsd: 0 }, NOW)).toMatchObject({
      limit: 'rate_limit_tokens',
      scope: 'project',
      limitValue: 5,
    });
    expect(impossible(l, { tokens: 1, units: {}, costNanoUsd: 501 }, NOW)).toMatchObject({
      limit: 'spend_cap_reached',
      scope: 'project',
      limitValue: 500,
    });
  });

  it('a lease takes at most an eighth of a project’s budget, and a quarter of what it had left', () => {
    const l = effectiveLimits(payg, { project: project({ budgetNanoUsd: 80_000 }) });
    const per = { ...amount };
    const zero = { requests: 0, slots: 0, tokens: 0, units: {}, costNanoUsd: 0 };
    expect(leaseAsk(l, zero, per, 64, undefined).costNanoUsd).toBe(10_000);
    const nearlySpent = { counters: { projectMonth: 76_000 }, grantedAtRead: zero };
    expect(leaseAsk(l, zero, per, 64, nearlySpent).costNanoUsd).toBe(1_000);
    const spent = { counters: { projectMonth: 80_000 }, grantedAtRead: zero };
    expect(leaseAsk(l, zero, per, 64, spent).costNanoUsd).toBe(0);
  });
});

describe('project budgets', () => {
  it('a budget without a mode is a hard stop; thresholds are reached exactly', () => {
    const p: Project = {
      id: 'proj_a',
      tenantId: 't',
      name: 'A',
      createdAt: '',
      limits: { budgetNanoUsd: 3 },
    };
    expect(projectBudgetOf(p)).toEqual({ amountNanoUsd: 3, mode: 'hard_stop' });
    expect(projectBudgetOf({ ...p, limits: { requestsPerMinute: 3 } })).toBeUndefined();
    expect(projectBudgetOf({ ...p, limits: null })).toBeUndefined();
    const budget = { amountNanoUsd: 3, mode: 'alert_only' as const };
    expect(reachedProjectThresholds(budget, 1)).toEqual([]);
    // 1.5 of 3 is 50%; 2.4 would be 80%: 2 is not, 3 is 100%.
    expect(reachedProjectThresholds(budget, 2)).toEqual([50]);
    expect(reachedProjectThresholds(budget, 3)).toEqual([50, 80, 100]);
    const huge = { amountNanoUsd: Number.MAX_SAFE_INTEGER, mode: 'hard_stop' as const };
    expect(reachedProjectThresholds(huge, Number.MAX_SAFE_INTEGER - 1)).toEqual([50, 80]);
  });

  it('alerts go to the project’s owners still on the team and to the tenant’s owners, each once', () => {
    const members = [
      { userId: 'u1', email: 'owner@x.test', role: 'owner' },
      { userId: 'u2', email: 'lead@x.test', role: 'developer' },
      { userId: 'u3', email: 'dev@x.test', role: 'developer' },
    ] as Parameters<typeof projectRecipients>[1];
    expect(
      projectRecipients(
        [
          { userId: 'u2', role: 'owner' },
          { userId: 'u3', role: 'viewer' },
          { userId: 'u1', role: 'owner' },
          { userId: 'gone', role: 'owner' },
        ],
        members,
      ).sort(),
    ).toEqual(['lead@x.test', 'owner@x.test']);
  });

  it('the hot path reads a project once per TTL, and at once again after forget', async () => {
    let reads = 0;
    let now = 0;
    const cache = new ProjectLimitsCache(
      {
        get: async (tenantId, id) => {
          reads++;
          return id === 'proj_a' ? { id, tenantId, name: 'A', createdAt: '', limits: null } : undefined;
        },
      },
      5_000,
      () => now,
    );
    await Promise.all([cache.get('t', 'proj_a'), cache.get('t', 'proj_a')]);
    expect(await cache.get('t', 'proj_a')).toMatchObject({ id: 'proj_a' });
    expect(reads).toBe(1);
    expect(await cache.get('t', 'proj_gone')).toBeNull();
    expect(await cache.get('t', 'proj_gone')).toBeNull();
    expect(reads).toBe(2);
    now = 5_001;
    await cache.get('t', 'proj_a');
    expect(reads).toBe(3);
    cache.forget('t', 'proj_a');
    await cache.get('t', 'proj_a');
    expect(reads).toBe(4);
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CreditKind, creditKinds } from '#shared/credits/burn-order';
import type { CreditEntry, CreditStore } from '#shared/credits/credit-store';
import { newId } from '#shared/ids';
import { QuotaAdmission } from '#shared/quotas/admission';
import {
  addMember,
  expectError,
  json,
  newOperator,
  newOwner,
  type TestOperator,
  type TestUser,
} from '../../support/accounts';
import { billingHarness, postEvent } from '../../support/billing';
import type { FakeStripe } from '../../support/fake-stripe';
import { createHarness, type Harness } from '../../support/harness';
import { limitsOf, quotaRequest, usageEvent } from '../../support/quota-fixtures';

type ByKind = Record<CreditKind | 'total', string>;
type Finance = {
  object: 'finance';
  from: string;
  to: string;
  billing: 'stripe' | 'ledger';
  receivables: {
    source: string;
    label: string;
    invoiced_usd: string;
    collected_usd: string;
    outstanding_usd: string;
    uncollectible_usd: string;
    count: number;
    truncated: boolean;
  };
  credit: {
    sold_usd: ByKind;
    used_usd: ByKind & { uncovered: string };
    expired_usd: ByKind;
    outstanding_usd: ByKind;
  };
  mrr: {
    month: string;
    mrr_usd: string;
    subscriptions_usd: string;
    paid_credit_usd: string;
    definition: string;
  };
  past_due: { tenant_id: string; days_overdue: number; past_due_since: string; owed_usd: string | null }[];
  refunds: { count: number; amount_usd: string; data: { id: string; amount_usd: string }[] };
  credit_notes: {
    count: number;
    amount_usd: string;
    data: { id: string; invoice: string; amount_usd: string }[];
  };
  provider_unavailable: string | null;
};
type Issued = {
  object: string;
  id: string;
  tenant_id: string;
  against: string;
  amount_usd: string;
  replayed: boolean;
};

const MONTH = '2036-05';
const t = (iso: string) => new Date(iso);
const sec = (iso: string) => Math.floor(Date.parse(iso) / 1000);
/** nano-USD as the API writes it. */
const usd = (nano: number) => {
  const sign = nano < 0 ? '-' : '';
  const abs = Math.abs(nano);
  return `${sign}${Math.floor(abs / 1e9)}.${String(abs % 1e9).padStart(9, '0')}`;
};
const CENT = 10_000_000;
const OPERATOR = { kind: 'operator', id: 'opr_test', email: 'ops@example.com' } as const;

describe('operator finance (Stripe mode, the fake Stripe): totals equal the ledger and the invoices', () => {
  // The platform's clock reads June 3; the ledger's writes and Stripe's objects carry their own dates.
  const clock = { now: t('2036-06-03T12:00:00Z') };
  let h: Harness;
  let fake: FakeStripe;
  let op: TestOperator;
  let credits: CreditStore;
  let a: TestUser;
  let b: TestUser;
  let c: TestUser;
  const customers = new Map<string, string>();
  let paidInvoice: Record<string, unknown>;
  let openInvoice: Record<string, unknown>;
  let voidInvoice: Record<string, unknown>;
  let topUp: Record<string, unknown>;

  beforeAll(async () => {
    ({ h, fake } = await billingHarness({ now: () => clock.now }));
    // Refunds and credit notes are made on May 28.
    fake.financeClock = () => sec('2036-05-28T12:00:00Z');
    credits = h.stores.quotas.credits;
    op = await newOperator(h);
    [a, b, c] = [await newOwner(h), await newOwner(h), await newOwner(h)];
    for (const owner of [a, b, c]) {
      customers.set(owner.tenantId, await subscribed(owner));
    }
  }, 60_000);
  afterAll(async () => {
    await fake?.stop();
  });

  /** Checkout through the API; Stripe's event (created April 1) signed at the platform's clock. */
  const subscribed = async (owner: TestUser) => {
    const res = await h.call('/account/billing/checkout', { key: owner.token, method: 'POST' });
    expect(res.status, await res.clone().text()).toBe(201);
    const session = fake.completeCheckout((await json<{ id: string }>(res)).id);
    const hook = await postEvent(
      h,
      fake,
      fake.event('checkout.session.completed', session, sec('2036-04-01T00:00:00Z')),
      { timestamp: Math.floor(clock.now.getTime() / 1000) },
    );
    expect(hook.status, await hook.clone().text()).toBe(200);
    return session.customer as string;
  };
  const finance = (query = `?month=${MONTH}`, key = op.token) => h.call(`/admin/finance${query}`, { key });
  const refund = (tenantId: string, body: unknown, headers: Record<string, string> = {}) =>
    h.call(`/admin/finance/tenants/${tenantId}/refunds`, { key: op.token, json: body, headers });
  const creditNote = (tenantId: string, body: unknown) =>
    h.call(`/admin/finance/tenants/${tenantId}/credit-notes`, { key: op.token, json: body });

  const grant = async (tenantId: string, kind: CreditKind, nano: number, at: string, expiresAt: string) => {
    const out = await credits.grant(
      { tenantId, kind, amountNanoUsd: nano, expiresAt, note: null, actor: OPERATOR, requestId: null },
      t(at),
    );
    expect(out.status).toBe('granted');
  };
  /** Prepaid requests admitted against the balance and settled (their usage records written), at `at`. */
  const serve = async (tenantId: string, at: string, costs: number[]) => {
    const now = { now: t(at) };
    const adm = new QuotaAdmission(h.stores.quotas, { leaseMs: 5_000, idleMs: 60_000, now: () => now.now });
    for (const [i, cost] of costs.entries()) {
      now.now = new Date(t(at).getTime() + i * 100);
      const r = await adm.admit(
        quotaRequest(tenantId, limitsOf({ prepaid: true }), {
          now: now.now,
          costNanoUsd: cost,
          requestId: newId('req', now.now.getTime()),
        }),
      );
      if (!r.ok) throw new Error(`refused: ${r.limit}`);
      await adm.settle(
        r.admission,
        { tokens: 10, units: { input_tokens: 10 }, costNanoUsd: cost },
        usageEvent(tenantId, r.admission.reservation.requestId, 10, { costNanoUsd: cost, prepaid: true }),
      );
    }
    await adm.close();
  };
  const allEntries = async (tenantId: string): Promise<CreditEntry[]> => {
    const out: CreditEntry[] = [];
    let cursor: string | undefined;
    do {
      const page = await credits.entries(tenantId, { limit: 100, cursor });
      if (page === 'bad_cursor') throw new Error('bad cursor');
      out.push(...page.entries);
      cursor = page.cursor ?? undefined;
    } while (cursor);
    return out;
  };

  it('sets up a month of grants, burns, an expiry, invoices, a past-due tenant, a refund and a credit note', async () => {
    // April: B buys credit (before the month: outstanding, not sold, in May).
    await grant(b.tenantId, 'paid', 2_000_000_000, '2036-04-15T10:00:00Z', '2037-04-15T00:00:00Z');
    // May: A buys $10 and gets $3 promotional that expires on the 20th; B $5 paid and a $1 trial.
    await grant(a.tenantId, 'paid', 10_000_000_000, '2036-05-02T09:00:00Z', '2037-05-02T00:00:00Z');
    await grant(a.tenantId, 'promotional', 3_000_000_000, '2036-05-02T09:00:00Z', '2036-05-20T00:00:00Z');
    await grant(b.tenantId, 'paid', 5_000_000_000, '2036-05-03T09:00:00Z', '2037-05-03T00:00:00Z');
    await grant(b.tenantId, 'trial', 1_000_000_000, '2036-05-03T09:00:00Z', '2037-01-01T00:00:00Z');
    // A uses $1.25 (the promotional first), B $1.75 (the trial, then paid), on May 10; both burned
    // into the ledger, A's promotional remainder expires on the 20th (met on the 25th).
    await serve(a.tenantId, '2036-05-10T12:00:00Z', [500_000_000, 750_000_000]);
    await serve(b.tenantId, '2036-05-10T12:00:00Z', [1_000_000_000, 750_000_000]);
    // A May 31 burn of B's lands in June (its ledger entry is written then): not May's.
    await credits.catchUp(a.tenantId, t('2036-05-25T00:00:00Z'));
    await credits.catchUp(b.tenantId, t('2036-05-25T00:00:00Z'));
    await serve(b.tenantId, '2036-05-31T23:59:00Z', [300_000_000]);
    await credits.catchUp(b.tenantId, t('2036-06-01T01:00:00Z'));

    // Invoices: April's usage invoiced on May 1 (A paid, B open), C's open and past due, a draft
    // and a void one (not counted), a one-off paid invoice (B's top-up), one from April (not May's),
    // May's usage invoiced on June 1 (MRR), and 120 small paid ones (more than one page of 100).
    const cus = (u: TestUser) => customers.get(u.tenantId)!;
    const april = { periodStart: sec('2036-04-01T00:00:00Z'), periodEnd: sec('2036-05-01T00:00:00Z') };
    const may = { periodStart: sec('2036-05-01T00:00:00Z'), periodEnd: sec('2036-06-01T00:00:00Z') };
    const may1 = sec('2036-05-01T01:00:00Z');
    paidInvoice = fake.addFinanceInvoice(cus(a), {
      totalCents: 4_200,
      status: 'paid',
      created: may1,
      ...april,
    });
    openInvoice = fake.addFinanceInvoice(cus(b), {
      totalCents: 1_750,
      status: 'open',
      created: may1,
      ...april,
    });
    fake.addFinanceInvoice(cus(c), { totalCents: 999, status: 'open', created: may1, ...april });
    fake.addFinanceInvoice(cus(a), {
      totalCents: 500,
      status: 'draft',
      created: sec('2036-05-28T00:00:00Z'),
    });
    voidInvoice = fake.addFinanceInvoice(cus(a), { totalCents: 300, status: 'void', created: may1 });
    fake.addFinanceInvoice(cus(c), { totalCents: 250, status: 'uncollectible', created: may1, ...april });
    topUp = fake.addFinanceInvoice(cus(b), {
      totalCents: 2_000,
      status: 'paid',
      created: sec('2036-05-12T00:00:00Z'),
      subscription: null,
    });
    fake.addFinanceInvoice(cus(a), {
      totalCents: 10_000,
      status: 'paid',
      created: sec('2036-04-30T23:00:00Z'),
    });
    fake.addFinanceInvoice(cus(a), {
      totalCents: 3_000,
      status: 'paid',
      created: sec('2036-06-01T01:00:00Z'),
      ...may,
    });
    fake.addFinanceInvoice(cus(b), {
      totalCents: 1_200,
      status: 'open',
      created: sec('2036-06-01T01:00:00Z'),
      ...may,
    });
    for (let i = 0; i < 120; i++) {
      fake.addFinanceInvoice(cus(c), { totalCents: 100, status: 'paid', created: may1 + 60 + i, ...april });
    }

    // C's payment fails on May 25: past due.
    const failed = await postEvent(
      h,
      fake,
      fake.event(
        'invoice.payment_failed',
        { id: 'in_x', object: 'invoice', customer: cus(c) },
        sec('2036-05-25T06:00:00Z'),
      ),
      { timestamp: Math.floor(clock.now.getTime() / 1000) },
    );
    expect(failed.status, await failed.clone().text()).toBe(200);

    // On May 28 an operator refunds $5.00 of A's invoice payment and credits $2.50 on B's open one.
    const r = await refund(a.tenantId, {
      payment_intent: paidInvoice.payment_intent,
      amount_usd: '5.00',
      reason: 'requested_by_customer',
    });
    expect(r.status, await r.clone().text()).toBe(201);
    expect(await json<Issued>(r)).toMatchObject({
      object: 'refund',
      amount_usd: '5.000000000',
      replayed: false,
    });
    const n = await creditNote(b.tenantId, { invoice: openInvoice.id, amount_usd: 2.5, memo: 'goodwill' });
    expect(n.status, await n.clone().text()).toBe(201);
  }, 60_000);

  it('reports what the ledger and the fake Stripe say, computed independently', async () => {
    const res = await finance();
    expect(res.status, await res.clone().text()).toBe(200);
    const f = await json<Finance>(res);

    // The ledger: every entry of every tenant, summed by month and kind.
    const sold = { paid: 0, promotional: 0, trial: 0 };
    const used = { paid: 0, promotional: 0, trial: 0 };
    const expired = { paid: 0, promotional: 0, trial: 0 };
    const outstanding = { paid: 0, promotional: 0, trial: 0 };
    let paidUsedInMay = 0;
    for (const u of [a, b, c]) {
      for (const e of await allEntries(u.tenantId)) {
        if (!e.kind) continue;
        if (e.at.slice(0, 7) <= MONTH) outstanding[e.kind] += e.amountNanoUsd;
        if (e.at.slice(0, 7) !== MONTH) continue;
        if (e.type === 'grant') sold[e.kind] += e.amountNanoUsd;
        if (e.type === 'burn') used[e.kind] -= e.amountNanoUsd;
        if (e.type === 'expiry' || e.type === 'expiry_adjustment') expired[e.kind] -= e.amountNanoUsd;
        if (e.type === 'burn' && e.kind === 'paid') paidUsedInMay -= e.amountNanoUsd;
      }
    }
    const view = (k: Record<CreditKind, number>) => ({
      paid: usd(k.paid),
      promotional: usd(k.promotional),
      trial: usd(k.trial),
      total: usd(creditKinds.reduce((s, x) => s + k[x], 0)),
    });
    expect(f.credit.sold_usd).toEqual(view(sold));
    expect(f.credit.used_usd).toEqual({ ...view(used), uncovered: '0.000000000' });
    expect(f.credit.expired_usd).toEqual(view(expired));
    expect(f.credit.outstanding_usd).toEqual(view(outstanding));
    // And what those sums are, by hand, so a ledger that wrote nothing fails too.
    expect(f.credit.sold_usd).toMatchObject({
      paid: '15.000000000',
      promotional: '3.000000000',
      trial: '1.000000000',
    });
    expect(f.credit.used_usd).toMatchObject({
      promotional: '1.250000000',
      trial: '1.000000000',
      paid: '0.750000000',
    });
    expect(f.credit.expired_usd).toMatchObject({ promotional: '1.750000000', total: '1.750000000' });
    // B's June burn is not May's: outstanding at May's end keeps it; April's $2 is in it.
    expect(f.credit.outstanding_usd).toMatchObject({ paid: '16.250000000', promotional: '0.000000000' });

    // The fake Stripe: its invoices created in May, not draft or void.
    const from = sec('2036-05-01T00:00:00Z');
    const to = sec('2036-06-01T00:00:00Z');
    const inMay = fake.invoices.filter(
      (i) =>
        (i.created as number) >= from &&
        (i.created as number) < to &&
        i.status !== 'draft' &&
        i.status !== 'void',
    );
    const sum = (xs: Record<string, unknown>[], field: string) =>
      xs.reduce((s, i) => s + (i[field] as number), 0);
    expect(inMay.length).toBe(125);
    expect(f.receivables).toMatchObject({
      source: 'stripe_invoices',
      count: inMay.length,
      truncated: false,
      invoiced_usd: usd(sum(inMay, 'total') * CENT),
      collected_usd: usd(sum(inMay, 'amount_paid') * CENT),
      outstanding_usd: usd(
        sum(
          inMay.filter((i) => i.status === 'open'),
          'amount_remaining',
        ) * CENT,
      ),
      uncollectible_usd: usd(
        sum(
          inMay.filter((i) => i.status === 'uncollectible'),
          'amount_remaining',
        ) * CENT,
      ),
    });
    // By hand: 42 + 17.50 + 9.99 + 2.50 + 20 + 120 x 1 invoiced; 42 + 20 + 120 paid; 15 + 9.99 open.
    expect(f.receivables.invoiced_usd).toBe('211.990000000');
    expect(f.receivables.collected_usd).toBe('182.000000000');
    expect(f.receivables.outstanding_usd).toBe('24.990000000');

    // MRR for May: May's subscription invoices (made June 1) plus the paid credit used in May.
    expect(f.mrr.month).toBe(MONTH);
    expect(f.mrr.subscriptions_usd).toBe('42.000000000');
    expect(f.mrr.paid_credit_usd).toBe(usd(paidUsedInMay));
    expect(f.mrr.mrr_usd).toBe(usd(42 * 1e9 + paidUsedInMay));
    expect(f.mrr.definition).toMatch(/paid prepaid credit/);

    // Past due: C, since May 25 06:00, nine days before June 3 12:00; it owes its open invoice.
    expect(f.past_due).toEqual([
      expect.objectContaining({
        tenant_id: c.tenantId,
        past_due_since: '2036-05-25T06:00:00.000Z',
        days_overdue: 9,
        owed_usd: '9.990000000',
      }),
    ]);

    // Refunds and credit notes created in May: the fake's own lists.
    expect(f.refunds.count).toBe(fake.refunds.length);
    expect(f.refunds.amount_usd).toBe(usd(sum(fake.refunds, 'amount') * CENT));
    expect(f.refunds.amount_usd).toBe('5.000000000');
    expect(f.credit_notes.count).toBe(1);
    expect(f.credit_notes.amount_usd).toBe(usd(sum(fake.creditNotes, 'total') * CENT));
    expect(f.credit_notes.data[0]).toMatchObject({ invoice: openInvoice.id, amount_usd: '2.500000000' });
    expect(f.provider_unavailable).toBeNull();

    // April alone: B's $2 paid grant, the April 30 invoice, no refund.
    const april = await json<Finance>(await finance('?month=2036-04'));
    expect(april.credit.sold_usd).toMatchObject({ paid: '2.000000000', total: '2.000000000' });
    expect(april.receivables.invoiced_usd).toBe('100.000000000');
    expect(april.refunds.count).toBe(0);
    // A range sums its months.
    const range = await json<Finance>(await finance('?from=2036-04&to=2036-05'));
    expect(range.credit.sold_usd.total).toBe('21.000000000');
    expect(range.receivables.invoiced_usd).toBe('311.990000000');
    expect(range.credit.outstanding_usd).toEqual(f.credit.outstanding_usd);
  });

  it('issues each refund and credit note once: a repeat is answered again, not issued or audited again', async () => {
    const auditCount = async (action: string) => {
      const res = await h.call('/admin/audit?limit=200', { key: op.token });
      return (await json<{ data: { action: string }[] }>(res)).data.filter((e) => e.action === action).length;
    };
    const before = { refunds: fake.refunds.length, audits: await auditCount('tenant.refund') };
    const body = { payment_intent: paidInvoice.payment_intent, amount_usd: '1.00' };
    const first = await refund(a.tenantId, body);
    expect(first.status, await first.clone().text()).toBe(201);
    const again = await refund(a.tenantId, body);
    expect(again.status).toBe(200);
    const [x, y] = [await json<Issued>(first), await json<Issued>(again)];
    expect(y).toMatchObject({ id: x.id, replayed: true });
    expect(fake.refunds.length).toBe(before.refunds + 1);
    expect(await auditCount('tenant.refund')).toBe(before.audits + 1);
    // Every Stripe call that creates carries a deterministic idempotency key.
    const creates = fake.requests.filter(
      (r) => r.method === 'POST' && /\/v1\/(refunds|credit_notes)$/.test(r.path),
    );
    expect(creates.every((r) => r.idempotencyKey?.startsWith('tollgate-'))).toBe(true);
    // A new Idempotency-Key issues another of the same amount.
    const other = await refund(a.tenantId, body, { 'idempotency-key': 'second-dollar' });
    expect(other.status).toBe(201);
    expect(fake.refunds.length).toBe(before.refunds + 2);
    // A top-up's payment is refundable the same way, in full.
    const full = await refund(b.tenantId, { payment_intent: topUp.payment_intent, amount_usd: 20 });
    expect(full.status, await full.clone().text()).toBe(201);
  });

  it('refuses bad refunds and credit notes with a clear 4xx, changing nothing', async () => {
    const refunds = fake.refunds.length;
    const notes = fake.creditNotes.length;
    const pi = paidInvoice.payment_intent as string;
    const ok = { payment_intent: pi, amount_usd: '1.00' };
    const cases: [unknown, number, string, string | null][] = [
      [{ ...ok, amount_usd: 0 }, 400, 'invalid_request', 'amount_usd'],
      [{ ...ok, amount_usd: '-1' }, 400, 'invalid_request', 'amount_usd'],
      [{ ...ok, amount_usd: '0.001' }, 400, 'invalid_request', 'amount_usd'],
      [{ ...ok, amount_usd: '1000.00' }, 400, 'invalid_request', 'amount_usd'],
      [{ ...ok, currency: 'eur' }, 400, 'invalid_request', 'currency'],
      [{ ...ok, payment_intent: 'ch_123' }, 400, 'invalid_request', 'payment_intent'],
      [{ ...ok, extra: 1 }, 400, 'invalid_request', null],
      [{ amount_usd: '1.00' }, 400, 'invalid_request', 'payment_intent'],
    ];
    for (const [body, status, code, param] of cases) {
      await expectError(await refund(a.tenantId, body), status, code, param ?? undefined);
    }
    // Another tenant's payment, or invoice, is a 404 (as is an unknown tenant or payment).
    await expectError(await refund(b.tenantId, ok), 404, 'not_found', 'payment_intent');
    await expectError(
      await refund(a.tenantId, { ...ok, payment_intent: 'pi_doesnotexist' }),
      404,
      'not_found',
    );
    await expectError(await refund(newId('ten'), ok), 404, 'not_found', 'tenant_id');
    await expectError(
      await creditNote(a.tenantId, { invoice: openInvoice.id, amount_usd: 1 }),
      404,
      'not_found',
      'invoice',
    );
    // More than the invoice can still be credited; a void invoice takes none.
    await expectError(
      await creditNote(b.tenantId, { invoice: openInvoice.id, amount_usd: '15.01' }),
      400,
      'invalid_request',
      'amount_usd',
    );
    await expectError(
      await creditNote(a.tenantId, { invoice: voidInvoice.id, amount_usd: 1 }),
      409,
      'conflict',
    );
    expect(fake.refunds.length).toBe(refunds);
    expect(fake.creditNotes.length).toBe(notes);
  });

  it('is for operators only, and validates the months it is asked for', async () => {
    const developer = await addMember(h, a, 'developer');
    await expectError(await finance(`?month=${MONTH}`, developer.token), 403, 'forbidden');
    await expectError(await finance(`?month=${MONTH}`, a.token), 403, 'forbidden');
    await expectError(await h.call('/admin/finance'), 401, 'missing_credentials');
    await expectError(
      await h.call(`/admin/finance/tenants/${a.tenantId}/refunds`, {
        key: a.token,
        json: { payment_intent: paidInvoice.payment_intent, amount_usd: 1 },
      }),
      403,
      'forbidden',
    );
    const bad: [string, string][] = [
      ['?month=2036-13', 'month'],
      ['?month=May', 'month'],
      ['?month=2036-05&from=2036-04', 'month'],
      ['?from=2036-04', 'to'],
      ['?to=2036-04', 'from'],
      ['?from=2036-05&to=2036-04', 'from'],
      ['?from=2030-01&to=2036-05', 'from'],
    ];
    for (const [q, param] of bad) await expectError(await finance(q), 400, 'invalid_request', param);
    expect((await finance('')).status).toBe(200);
  });
});

describe('operator finance in ledger-only mode', () => {
  let h: Harness;
  let op: TestOperator;
  beforeAll(async () => {
    h = await createHarness();
    op = await newOperator(h);
  });

  it('labels the invoice previews as what stands in for invoices, and refuses refunds as not connected', async () => {
    const owner = await newOwner(h);
    const res = await h.call('/admin/finance', { key: op.token });
    expect(res.status, await res.clone().text()).toBe(200);
    const f = await json<Finance>(res);
    expect(f.billing).toBe('ledger');
    expect(f.receivables.source).toBe('invoice_previews');
    expect(f.receivables.label).toMatch(/invoice previews/);
    expect(f.receivables.collected_usd).toBe('0.000000000');
    expect(f.refunds.count).toBe(0);
    await expectError(
      await h.call(`/admin/finance/tenants/${owner.tenantId}/refunds`, {
        key: op.token,
        json: { payment_intent: 'pi_123', amount_usd: 1 },
      }),
      409,
      'billing_not_connected',
    );
    await expectError(
      await h.call(`/admin/finance/tenants/${owner.tenantId}/credit-notes`, {
        key: op.token,
        json: { invoice: 'in_123', amount_usd: 1 },
      }),
      409,
      'billing_not_connected',
    );
  });
});

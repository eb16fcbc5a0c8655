import type { EmailSender } from '../email/email-sender';
import { lowBalanceMessage, trialExhaustedMessage } from '../email/templates';
import { formatUsd } from '../metering/pricing';
import type { Refusal } from '../quotas/quota-types';
import type { Tenant } from '../tenants/tenant-store';
import { type CreditStore, EXHAUSTED_BELOW_NANO_USD, type LowBalanceNotice } from './credit-store';

/** Whether a refusal says a free-only tenant's credit is used up (not just too low for one large request). */
export function isExhaustion(r: Refusal): boolean {
  return r.limit === 'insufficient_balance' && r.limitValue < EXHAUSTED_BELOW_NANO_USD;
}

/**
 * Tells the owner about their credit, once per event: a free-only tenant's credit used up (found
 * by a refusal, marked with one conditional write), and low-balance crossings (found by the sweep).
 */
export class CreditNotices {
  constructor(
    private readonly credits: CreditStore,
    private readonly email: EmailSender,
    private readonly opts: { publicUrl: string },
  ) {}

  /**
   * A free-only tenant's request was refused by its balance: when the credit is used up and not
   * yet marked so, marks it (one conditional write: among concurrent refusals, one wins) and the
   * winner emails the contact address. A refusal that finds the mark (it comes back with the
   * refusing item) writes nothing. Returns whether this call marked it.
   */
  async exhausted(tenant: Tenant, r: Refusal, now: Date): Promise<boolean> {
    if (!tenant.freeOnly || !isExhaustion(r) || !r.credit || r.credit.exhaustedMarked) return false;
    const marked = await this.credits.markExhausted(tenant.id, r.credit.grantedNanoUsd, now);
    if (marked && tenant.contactEmail) {
      await this.email.send(
        trialExhaustedMessage(tenant.contactEmail, this.opts.publicUrl, {
          tenantName: tenant.name,
          balance: formatUsd(r.limitValue),
        }),
      );
    }
    return marked;
  }

  /** Emails the crossings the sweep fired, and notes where each went. */
  async lowBalance(tenant: Tenant, fired: LowBalanceNotice[]): Promise<void> {
    const to = tenant.contactEmail;
    if (!to) return;
    for (const n of fired) {
      await this.email.send(
        lowBalanceMessage(to, this.opts.publicUrl, {
          tenantName: tenant.name,
          threshold: formatUsd(n.thresholdNanoUsd),
          balance: formatUsd(Math.max(0, n.balanceNanoUsd)),
        }),
      );
      await this.credits.noticeSent(tenant.id, n, to);
    }
  }
}

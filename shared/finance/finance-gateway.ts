import type { GatewayResult } from '../billing/gateway-result';

/**
 * What the operators' finance page and its refunds and credit notes ask of the payment provider
 * (part of the billing port, `shared/billing/billing.ts`). Amounts are in the currency's minor unit
 * (cents), as the provider keeps them; times are ISO strings.
 */

/** A finalized (or draft) invoice, any customer. */
export interface ProviderInvoice {
  id: string;
  customerId: string;
  number: string | null;
  /** draft, open, paid, uncollectible, void. */
  status: string | null;
  currency: string;
  totalCents: number;
  amountPaidCents: number;
  amountRemainingCents: number;
  /** Credit notes issued on it (before and after payment). */
  creditedCents: number;
  createdAt: string;
  periodStart: string;
  periodEnd: string;
  /** When payment was due (sent invoices), else null. */
  dueAt: string | null;
  /** Billed by a subscription (the metered plan), not a one-off (a top-up). */
  fromSubscription: boolean;
  hostedUrl: string | null;
}

export interface ProviderRefund {
  id: string;
  amountCents: number;
  currency: string;
  /** pending, requires_action, succeeded, failed, canceled. */
  status: string | null;
  paymentIntentId: string | null;
  createdAt: string;
}

export interface ProviderCreditNote {
  id: string;
  invoiceId: string;
  customerId: string;
  totalCents: number;
  currency: string;
  /** issued or void. */
  status: string;
  createdAt: string;
}

export interface ProviderPayment {
  id: string;
  customerId: string | null;
  currency: string;
  /** succeeded, processing, requires_payment_method, ... */
  status: string;
  amountReceivedCents: number;
  /** Refunded so far (pending and succeeded refunds). */
  refundedCents: number;
}

/** Seconds since the epoch, `from` inclusive, `to` exclusive. */
export interface CreatedRange {
  fromSec: number;
  toSec: number;
}

/** A bounded read: at most `maxItems`; `truncated` when the provider had more. */
export type Listed<K extends string, T> = { [key in K]: T[] } & { truncated: boolean };

export interface FinanceGateway {
  /** Invoices of every customer created in the range, newest first. */
  listInvoicesCreated(
    range: CreatedRange,
    maxItems: number,
  ): Promise<GatewayResult<Listed<'invoices', ProviderInvoice>>>;
  listRefundsCreated(
    range: CreatedRange,
    maxItems: number,
  ): Promise<GatewayResult<Listed<'refunds', ProviderRefund>>>;
  listCreditNotesCreated(
    range: CreatedRange,
    maxItems: number,
  ): Promise<GatewayResult<Listed<'creditNotes', ProviderCreditNote>>>;
  getInvoice(invoiceId: string): Promise<GatewayResult<{ invoice: ProviderInvoice }>>;
  getPayment(paymentIntentId: string): Promise<GatewayResult<{ payment: ProviderPayment }>>;
  /** Refunds part or all of a payment (a top-up's, or an invoice's). */
  createRefund(
    input: {
      paymentIntentId: string;
      amountCents: number;
      reason: string | null;
      metadata: Record<string, string>;
    },
    idempotencyKey: string,
  ): Promise<GatewayResult<{ refund: ProviderRefund }>>;
  /**
   * A credit note on an invoice: on an open invoice it lowers what is due; on a paid one the amount
   * goes to the customer's credit balance (applied to the next invoice). Refunding money is a refund.
   */
  createCreditNote(
    input: {
      invoiceId: string;
      amountCents: number;
      paid: boolean;
      memo: string | null;
      metadata: Record<string, string>;
    },
    idempotencyKey: string,
  ): Promise<GatewayResult<{ creditNote: ProviderCreditNote }>>;
}

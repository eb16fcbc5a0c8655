import type {
  ProviderCreditNote,
  ProviderInvoice,
  ProviderPayment,
  ProviderRefund,
} from '../finance/finance-gateway';
import type {
  BillingGateway,
  GatewayResult,
  PaymentSummary,
  ProviderSubscriptionStatus,
  SubscriptionPlanState,
  WebhookVerification,
} from './billing';

const notConnected = async <T>(): Promise<GatewayResult<T>> => ({ ok: false, kind: 'not_connected' });

/**
 * Ledger-only billing (no Stripe key; the local default). Usage is metered and priced, the invoice
 * preview is computed from the ledger, and nothing is sent anywhere: every provider operation
 * answers `not_connected`, so routes can say so and the sync does nothing.
 */
export class LedgerBillingGateway implements BillingGateway {
  readonly mode = 'ledger' as const;
  createCustomer = notConnected<{ customerId: string }>;
  deleteCustomer = notConnected<object>;
  createCheckout = notConnected<{ id: string; url: string }>;
  createPortal = notConnected<{ url: string }>;
  cancelSubscription = notConnected<object>;
  updateSubscription = notConnected<{
    state: SubscriptionPlanState & { status: ProviderSubscriptionStatus };
  }>;
  sendMeterEvent = notConnected<object>;
  listInvoices = notConnected<{ invoices: [] }>;
  provisionPrice = notConnected<{ meterId: string; productId: string; priceId: string; changes: string[] }>;
  ensureSubscriptionItem = notConnected<{ added: boolean }>;
  listInvoicesCreated = notConnected<{ invoices: []; truncated: false }>;
  listRefundsCreated = notConnected<{ refunds: []; truncated: false }>;
  listCreditNotesCreated = notConnected<{ creditNotes: []; truncated: false }>;
  getInvoice = notConnected<{ invoice: ProviderInvoice }>;
  getPayment = notConnected<{ payment: ProviderPayment }>;
  createRefund = notConnected<{ refund: ProviderRefund }>;
  createCreditNote = notConnected<{ creditNote: ProviderCreditNote }>;
  createPaymentCheckout = notConnected<{ id: string; url: string }>;
  getTopUpPayment = notConnected<{ payment: PaymentSummary }>;
  listPayments = notConnected<{ payments: PaymentSummary[]; hasMore: boolean }>;
  chargeSavedCard = notConnected<{ payment: PaymentSummary }>;

  verifyWebhook(): WebhookVerification {
    return { ok: false, reason: 'not_connected' };
  }
}

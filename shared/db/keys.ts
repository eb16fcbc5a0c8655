import { shardOf } from './shard';

/** Partitions one tenant's usage records are spread over. */
export const USAGE_EVENT_SHARDS = 16;

/**
 * Every partition and sort key pattern, in one place. Tenant-owned items lead with the tenant id;
 * the API-key hash lookup is the one exception, by necessity: the hot path knows only the hash.
 */
export const keys = {
  tenant: (tenantId: string) => ({ pk: `TENANT#${tenantId}`, sk: 'TENANT' }),
  /** The key's record, listed under its tenant. */
  apiKey: (tenantId: string, keyId: string) => ({ pk: `TENANT#${tenantId}`, sk: `APIKEY#${keyId}` }),
  apiKeyPrefix: () => 'APIKEY#',
  /** What the hot path reads: one GetItem by the SHA-256 of the presented secret. */
  apiKeyHash: (hash: string) => ({ pk: `APIKEYHASH#${hash}`, sk: 'APIKEYHASH' }),
  model: (name: string) => ({ pk: `MODEL#${name}`, sk: 'MODEL' }),
  modelVersion: (name: string, version: string) => ({ pk: `MODEL#${name}`, sk: `VERSION#${version}` }),
  /** The catalog is small: every model and version sits in one GSI partition, read in one Query. */
  catalogIndex: () => 'CATALOG',
  /**
   * A usage record, unique per request id: the conditional put on this key is what makes it
   * once-only. A tenant's records are spread over USAGE_EVENT_SHARDS partitions (by a hash of the
   * request id), so no partition key takes a write per request of one tenant; a time range is one
   * Query per shard (request ids are time-ordered).
   */
  usageEvent: (tenantId: string, requestId: string) => ({
    pk: `TENANT#${tenantId}#EV${shardOf(requestId, USAGE_EVENT_SHARDS)}`,
    sk: `EVENT#${requestId}`,
  }),
  usageEventShard: (tenantId: string, shard: number) => `TENANT#${tenantId}#EV${shard}`,
  /** Where records were kept before they were spread (still read, never written). */
  usageEventLegacyPartition: (tenantId: string) => `TENANT#${tenantId}`,
  /** The stream consumer's place in one shard of the usage table's stream. */
  consumerCheckpoint: (streamShardId: string) => ({ pk: 'CONSUMER#USAGE', sk: `SHARD#${streamShardId}` }),
  consumerPartition: () => 'CONSUMER#USAGE',
  /**
   * The daily aggregate per tenant x day x model version x key x channel. Online usage keeps the
   * key it had before batches existed; batch usage has its own item, `#batch` after the key.
   */
  usageDaily: (
    tenantId: string,
    day: string,
    model: string,
    version: string,
    keyId: string,
    channel: 'online' | 'batch' = 'online',
  ) => ({
    pk: `TENANT#${tenantId}`,
    sk: `DAY#${day}#${model}#${version}#${keyId}${channel === 'batch' ? '#batch' : ''}`,
  }),
  usageDailyPrefix: () => 'DAY#',
  /** A key's month total (usage table), kept by the consumer: what a key budget's alerts measure. */
  usageKeyMonth: (tenantId: string, keyId: string, month: string) => ({
    pk: `TENANT#${tenantId}`,
    sk: `KEYMONTH#${month}#${keyId}`,
  }),
  /** A project's month total (usage table), kept by the consumer: what a project budget's alerts measure. */
  usageProjectMonth: (tenantId: string, projectId: string, month: string) => ({
    pk: `TENANT#${tenantId}`,
    sk: `PROJMONTH#${month}#${projectId}`,
  }),
  /** A tenant's pin of one model to a version (or alias); all of a tenant's pins are one Query. */
  modelPin: (tenantId: string, model: string) => ({ pk: `TENANT#${tenantId}`, sk: `PIN#${model}` }),
  modelPinPrefix: () => 'PIN#',
  plan: (id: string) => ({ pk: `PLAN#${id}`, sk: 'PLAN' }),
  planIndex: () => 'PLANS',
  /** Quota counters of a tenant: per minute (tenant and key), per month, and in flight. */
  quotaMinute: (tenantId: string, minute: string) => ({ pk: `QUOTA#${tenantId}`, sk: `MIN#${minute}` }),
  quotaKeyMinute: (tenantId: string, keyId: string, minute: string) => ({
    pk: `QUOTA#${tenantId}`,
    sk: `MIN#${minute}#${keyId}`,
  }),
  quotaMonth: (tenantId: string, month: string) => ({ pk: `QUOTA#${tenantId}`, sk: `MONTH#${month}` }),
  /** A key's month cost, counted only for keys with their own monthly spend cap. */
  quotaKeyMonth: (tenantId: string, keyId: string, month: string) => ({
    pk: `QUOTA#${tenantId}`,
    sk: `MONTH#${month}#${keyId}`,
  }),
  /** A project's minute window, counted only for projects with per-minute limits of their own. */
  quotaProjectMinute: (tenantId: string, projectId: string, minute: string) => ({
    pk: `QUOTA#${tenantId}`,
    sk: `MIN#${minute}#PROJECT#${projectId}`,
  }),
  /** A project's month cost, counted only for projects with a hard-stop budget. */
  quotaProjectMonth: (tenantId: string, projectId: string, month: string) => ({
    pk: `QUOTA#${tenantId}`,
    sk: `MONTH#${month}#PROJECT#${projectId}`,
  }),
  quotaInFlight: (tenantId: string) => ({ pk: `QUOTA#${tenantId}`, sk: 'INFLIGHT' }),
  /** An open reservation, until settled or released; the sweeper finds expired ones through gsi1. */
  reservation: (tenantId: string, requestId: string) => ({
    pk: `QUOTA#${tenantId}`,
    sk: `RESV#${requestId}`,
  }),
  /** Reservations are spread over shards so no single index partition takes every request's write. */
  reservationIndex: (shard: number) => `RESV#${shard}`,
  reservationPrefix: () => 'RESV#',
  /**
   * A prepaid tenant's credit balance: `available` (what admission may still reserve, moved by the
   * same transactions as the other counters), the ledger's totals and the burn cursor. Listed in
   * gsi1 `CREDIT_BALANCES` for the sweep.
   */
  creditBalance: (tenantId: string) => ({ pk: `QUOTA#${tenantId}`, sk: 'CREDIT' }),
  creditBalancesIndex: () => 'CREDIT_BALANCES',
  /** A credit grant (paid, promotional, trial) and what of it was burned and expired. */
  creditGrant: (tenantId: string, grantId: string) => ({
    pk: `TENANT#${tenantId}`,
    sk: `CREDIT#GRANT#${grantId}`,
  }),
  creditGrantPrefix: () => 'CREDIT#GRANT#',
  /** A credit ledger entry (grant, burn, expiry), time-ordered by its id. */
  creditEntry: (tenantId: string, entryId: string) => ({
    pk: `TENANT#${tenantId}`,
    sk: `CREDIT#ENTRY#${entryId}`,
  }),
  creditEntryPrefix: () => 'CREDIT#ENTRY#',
  /** A top-up (Checkout) or auto-recharge attempt: what was asked for, and what became of it. */
  creditTopUp: (tenantId: string, topUpId: string) => ({
    pk: `TENANT#${tenantId}`,
    sk: `CREDIT#TOPUP#${topUpId}`,
  }),
  creditTopUpPrefix: () => 'CREDIT#TOPUP#',
  /** A tenant's auto-recharge settings, saved card and the state of its attempts; in gsi1 `AUTO_RECHARGE` while on. */
  autoRecharge: (tenantId: string) => ({ pk: `TENANT#${tenantId}`, sk: 'CREDIT#AUTO_RECHARGE' }),
  autoRechargeIndex: () => 'AUTO_RECHARGE',
  /**
   * The credit ledger's totals per calendar month (sold, used and expired, by kind) for the
   * operators' finance page, spread over shards by a hash of the tenant id: each tenant always adds
   * to one shard, in the same transaction as the ledger entries it counts, so no item is shared by
   * every tenant; a shard's partition holds every month, so a range is one Query per shard.
   */
  creditFinance: (shard: number, month: string) => ({ pk: `FINANCE#CREDIT#${shard}`, sk: `MONTH#${month}` }),
  creditFinanceShard: (shard: number) => `FINANCE#CREDIT#${shard}`,
  /** A refund or credit note issued by an operator, once per idempotency key (its audit entry goes with it). */
  financeRecord: (key: string) => ({ pk: `FINANCE#ISSUED#${key}`, sk: 'ISSUED' }),
  /**
   * Platform-wide usage per day x model version x channel (batch apart, `#batch` last; online as
   * before batches existed), spread over shards (by a hash of the request id)
   * so no single item or partition takes every request's write; readers sum the shards. A shard
   * partition holds every day, so a date range is one Query per shard.
   */
  platformDaily: (
    shard: number,
    day: string,
    model: string,
    version: string,
    channel: 'online' | 'batch' = 'online',
  ) => ({
    pk: `PLATFORM#${shard}`,
    sk: `DAY#${day}#${model}#${version}${channel === 'batch' ? '#batch' : ''}`,
  }),
  platformDailyShard: (shard: number) => `PLATFORM#${shard}`,
  /**
   * A tenant's settled usage in a month, for the operators' top-tenants view: partitioned by month
   * and a hash of the tenant id, so a month's tenants are one Query per shard, never a Scan.
   */
  platformTenantMonth: (month: string, shard: number, tenantId: string) => ({
    pk: `PLATFORM#MONTH#${month}#${shard}`,
    sk: `TENANT#${tenantId}`,
  }),
  platformTenantMonthShard: (month: string, shard: number) => `PLATFORM#MONTH#${month}#${shard}`,
  /**
   * Model-version health per UTC day (answers, refusals, failures, a latency histogram), added to
   * by every instance's background flush. One partition: each instance writes each item at most
   * once per HEALTH_FLUSH_MS, so a day range is one Query.
   */
  modelHealthDaily: (day: string, modelVersion: string) => ({
    pk: 'PLATFORM#HEALTH',
    sk: `DAY#${day}#${modelVersion}`,
  }),
  modelHealthPartition: () => 'PLATFORM#HEALTH',
  /**
   * Refused and failed /v1 calls of one key per UTC minute x reason (the request log), added to by
   * every instance's first-of-bucket write and background flush; in a partition of its own per
   * tenant, newest minute last, so a time range is one Query. Removed by TTL after 30 days.
   */
  refusalMinute: (tenantId: string, minute: string, keyId: string, reason: string) => ({
    pk: `TENANT#${tenantId}#REFUSALS`,
    sk: `MIN#${minute}#${keyId}#${reason}`,
  }),
  refusalPartition: (tenantId: string) => `TENANT#${tenantId}#REFUSALS`,
  /** A usage alert, once per tenant x month x metric x threshold (the conditional put on this key). */
  usageAlert: (tenantId: string, month: string, metric: string, threshold: number) => ({
    pk: `TENANT#${tenantId}`,
    sk: `ALERT#${month}#${metric}#${String(threshold).padStart(3, '0')}`,
  }),
  usageAlertPrefix: (month?: string) => (month ? `ALERT#${month}#` : 'ALERT#'),
  /** An `Idempotency-Key` a tenant sent, with the answer it got. */
  idempotency: (tenantId: string, key: string) => ({ pk: `TENANT#${tenantId}`, sk: `IDEMPOTENCY#${key}` }),
  /** Every tenant, newest first: the tenant item's gsi1 (`gsi1sk` = `<createdAt>#<id>`). */
  tenantsIndex: () => 'TENANTS',
  /** A tenant's name, lower-cased, for prefix search: an item of its own under the tenant. */
  tenantName: (tenantId: string) => ({ pk: `TENANT#${tenantId}`, sk: 'NAME' }),
  tenantNameIndex: () => 'TENANTS_BY_NAME',
  /** A user's credentials, under their tenant. */
  user: (tenantId: string, userId: string) => ({ pk: `TENANT#${tenantId}`, sk: `USER#${userId}` }),
  /** A user's membership (role, name, email): what the team list reads. */
  member: (tenantId: string, userId: string) => ({ pk: `TENANT#${tenantId}`, sk: `MEMBER#${userId}` }),
  memberPrefix: () => 'MEMBER#',
  invitation: (tenantId: string, invitationId: string) => ({
    pk: `TENANT#${tenantId}`,
    sk: `INVITE#${invitationId}`,
  }),
  invitationPrefix: () => 'INVITE#',
  /**
   * Who owns an email address (a user or an operator). The conditional put on this key is what
   * keeps addresses unique. Not tenant-led, by necessity: login knows only the address.
   */
  emailOwner: (normalizedEmail: string) => ({ pk: `EMAIL#${normalizedEmail}`, sk: 'EMAIL' }),
  /** A one-time email token (verification, password reset, invitation), by the SHA-256 of the token. */
  oneTimeToken: (purpose: string, hash: string) => ({ pk: `TOKEN#${purpose}#${hash}`, sk: 'TOKEN' }),
  /** A login session: what logout revokes and every session-authenticated request checks. */
  session: (sessionId: string) => ({ pk: `SESSION#${sessionId}`, sk: 'SESSION' }),
  /** gsi1 partition of a subject's sessions, so a password reset can end them all. */
  sessionsOf: (subjectId: string) => `SESSIONS#${subjectId}`,
  /** A refresh token, by the SHA-256 of the token; rotated ones stay (marked) to detect reuse. */
  refreshToken: (hash: string) => ({ pk: `REFRESH#${hash}`, sk: 'REFRESH' }),
  /** Platform operators live outside every tenant. */
  operator: (operatorId: string) => ({ pk: `OPERATOR#${operatorId}`, sk: 'OPERATOR' }),
  operatorsIndex: () => 'OPERATORS',
  /** A fixed-window counter (login attempts, emails sent), per bucket and hashed subject. */
  rateWindow: (bucket: string, subjectHash: string, windowStart: number) => ({
    pk: `RATE#${bucket}#${subjectHash}`,
    sk: `WINDOW#${windowStart}`,
  }),
  /** A subject's lockout (strikes and until when), next to its windows: the login back-off. */
  lockout: (bucket: string, subjectHash: string) => ({ pk: `RATE#${bucket}#${subjectHash}`, sk: 'LOCKOUT' }),
  /** An audit entry about no tenant, partitioned by month; gsi1 `AUDIT` lists every entry newest first. */
  auditEntry: (month: string, at: string, id: string) => ({ pk: `AUDIT#${month}`, sk: `${at}#${id}` }),
  auditIndex: () => 'AUDIT',
  /**
   * An audit entry about one tenant (its `target.tenantId`), under that tenant: the tenant's own
   * trail is one Query of its partition, newest first; the entry is in gsi1 `AUDIT` like any other.
   */
  tenantAuditEntry: (tenantId: string, at: string, id: string) => ({
    pk: `TENANT#${tenantId}`,
    sk: `AUDIT#${at}#${id}`,
  }),
  tenantAuditPrefix: () => 'AUDIT#',
  /**
   * A tenant's billing account: its Stripe customer and subscription, billing status, and (in
   * gsi1 `BILLING_ACCOUNTS`) its place in the list the meter sync walks.
   */
  billingAccount: (tenantId: string) => ({ pk: `TENANT#${tenantId}`, sk: 'BILLING' }),
  billingAccountsIndex: () => 'BILLING_ACCOUNTS',
  /** The meter sync's cursor for a tenant: usage before it is in Stripe. */
  billingSync: (tenantId: string) => ({ pk: `TENANT#${tenantId}`, sk: 'BILLING#SYNC' }),
  /**
   * The meter sync's walk over the tenants, one item of its own: where the walk is (the last
   * tenant it finished), when it started, and the lease that keeps two runs from walking at once.
   */
  billingSyncWalk: () => ({ pk: 'BILLING#SYNC', sk: 'WALK' }),
  /** A Stripe webhook event, once processed: the conditional put on this key is what makes it once-only. */
  stripeEvent: (tenantId: string, eventId: string) => ({
    pk: `TENANT#${tenantId}`,
    sk: `STRIPEEVENT#${eventId}`,
  }),
  /** Which tenant a Stripe customer is. Not tenant-led, by necessity: a webhook knows only the customer. */
  stripeCustomer: (customerId: string) => ({ pk: `STRIPECUSTOMER#${customerId}`, sk: 'STRIPECUSTOMER' }),
  /**
   * The Stripe meter and price of one model version's unit, as `billing:setup` made them; batch
   * lines have their own (`#batch` last), online ones keep the key they had before batches.
   */
  billingPrice: (model: string, version: string, unit: string, channel: 'online' | 'batch' = 'online') => ({
    pk: 'BILLING#PRICES',
    sk: `PRICE#${model}#${version}#${unit}${channel === 'batch' ? '#batch' : ''}`,
  }),
  billingPricesPartition: () => 'BILLING#PRICES',
  /** An email waiting for a job to send it (shared/email/email-queue.ts), oldest first in its partition. */
  queuedEmail: (queuedAt: string, id: string) => ({ pk: 'EMAILQUEUE', sk: `${queuedAt}#${id}` }),
  queuedEmailPartition: () => 'EMAILQUEUE',
  /** A file uploaded for (or made by) batches, listed under its tenant. Its content is in object storage. */
  batchFile: (tenantId: string, fileId: string) => ({ pk: `TENANT#${tenantId}`, sk: `FILE#${fileId}` }),
  batchFilePrefix: () => 'FILE#',
  /** A batch, listed under its tenant newest first (batch ids are time-ordered). */
  batch: (tenantId: string, batchId: string) => ({ pk: `TENANT#${tenantId}`, sk: `BATCH#${batchId}` }),
  batchPrefix: () => 'BATCH#',
  /** Batches not yet in a final state, across tenants (gsi1): what the sweep and the backlog read. */
  activeBatchesIndex: () => 'BATCHES#ACTIVE',
  /** Batches that ended on a UTC day (gsi1, by end time): the backlog's throughput reads the last hour's. */
  finishedBatchesIndex: (day: string) => `BATCHES#DONE#${day}`,
  /** One chunk of a batch's lines: its counters, and whether all its lines are answered. */
  batchChunk: (batchId: string, chunk: number) => ({
    pk: `BATCHWORK#${batchId}`,
    sk: `CHUNK#${String(chunk).padStart(6, '0')}`,
  }),
  batchChunkPrefix: () => 'CHUNK#',
  /** One line's result: the conditional put on this key is what makes a line answered once. */
  batchLine: (batchId: string, line: number) => ({
    pk: `BATCHWORK#${batchId}`,
    sk: `LINE#${String(line).padStart(7, '0')}`,
  }),
  batchLinePrefix: () => 'LINE#',
  batchWorkPartition: (batchId: string) => `BATCHWORK#${batchId}`,
  /** A tenant's batch lines accepted on one UTC day: the batch limit (apart from online limits). */
  batchDay: (tenantId: string, day: string) => ({ pk: `QUOTA#${tenantId}`, sk: `BATCHDAY#${day}` }),
  /** A message of the local work queue (SQS in the cloud), oldest first. */
  queueMessage: (queue: string, id: string) => ({ pk: `QUEUE#${queue}`, sk: `MSG#${id}` }),
  queuePartition: (queue: string) => `QUEUE#${queue}`,
  /**
   * A project of a tenant, under the tenant (all of a tenant's projects are one Query). The default
   * project (`proj_default`) has an item only once it was renamed or given limits.
   */
  project: (tenantId: string, projectId: string) => ({
    pk: `TENANT#${tenantId}`,
    sk: `PROJECT#${projectId}`,
  }),
  projectPrefix: () => 'PROJECT#',
  /** A member's role in one project; a project's members are one Query (`projectMemberPrefix`). */
  projectMember: (tenantId: string, projectId: string, userId: string) => ({
    pk: `TENANT#${tenantId}`,
    sk: `PROJMEMBER#${projectId}#${userId}`,
  }),
  projectMemberPrefix: (projectId?: string) => (projectId ? `PROJMEMBER#${projectId}#` : 'PROJMEMBER#'),
  /** A local-runner marker, so a restart does not seed twice. */
  seedMarker: (name: string) => ({ pk: `SEED#${name}`, sk: 'SEED' }),
} as const;

/** Entity types, stored on every item as `type` so a raw table read is self-describing. */
export type EntityType =
  | 'batch_file'
  | 'batch'
  | 'batch_chunk'
  | 'batch_line'
  | 'batch_day'
  | 'queue_message'
  | 'queued_email'
  | 'tenant'
  | 'api_key'
  | 'api_key_hash'
  | 'model'
  | 'model_version'
  | 'usage_event'
  | 'usage_daily'
  | 'usage_key_month'
  | 'usage_project_month'
  | 'consumer_checkpoint'
  | 'seed'
  | 'model_pin'
  | 'audit_entry'
  | 'quota_counter'
  | 'reservation'
  | 'platform_daily'
  | 'platform_tenant_month'
  | 'model_health_daily'
  | 'refusal_minute'
  | 'usage_alert'
  | 'idempotency'
  | 'plan'
  | 'model_pin'
  | 'seed'
  | 'tenant_name'
  | 'user'
  | 'member'
  | 'invitation'
  | 'email_owner'
  | 'one_time_token'
  | 'session'
  | 'refresh_token'
  | 'operator'
  | 'rate_window'
  | 'audit_entry'
  | 'billing_account'
  | 'billing_sync'
  | 'billing_sync_walk'
  | 'stripe_event'
  | 'stripe_customer'
  | 'billing_price'
  | 'credit_balance'
  | 'credit_grant'
  | 'credit_entry'
  | 'credit_finance'
  | 'finance_issued'
  | 'credit_top_up'
  | 'auto_recharge'
  | 'project'
  | 'project_member';

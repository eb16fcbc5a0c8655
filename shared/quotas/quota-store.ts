import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { CreditStore } from '../credits/credit-store';
import { keys } from '../db/keys';
import { queryItems } from '../db/query';
import { shardOf } from '../db/shard';
import { type TransactItem, transact } from '../db/transact';
import { type UsageEvent, UsageStore, usageRecordPut } from '../metering/usage-store';
import { counterDeltaItems } from './counter-deltas';
import { counterFlags, grantItems, impossible } from './grant-items';
import { LeaseStore } from './lease-store';
import type { EffectiveLimits } from './plans';
import { QuotaReads } from './quota-reads';
import {
  type Actual,
  type Amount,
  type MonthUse,
  type Peek,
  RESERVATION_SHARDS,
  type Reservation,
  type ReservationRequest,
  type ReserveResult,
} from './quota-types';
import { windowsAt } from './windows';

export * from './quota-types';

const DAY_S = 86_400;

/**
 * Quota counters in DynamoDB, shared by every gateway instance. A reservation is ONE transaction
 * of conditional updates over every counter that applies (tenant and key minute windows, the
 * month, requests in flight) plus the reservation item: either every counter moves or none does,
 * so concurrent requests cannot overshoot and a refusal by one limit leaves the others untouched.
 * Settlement writes the usage record and corrects the counters in one transaction (only requests
 * near a limit are reserved singly). Leases (`leases`) are the same machinery
 * for a block of requests that an instance admits from in memory.
 */
export class QuotaStore {
  readonly leases: LeaseStore;
  /** Prepaid tenants' credit: grants, the ledger, and the balance admission reserves against. */
  readonly credits: CreditStore;
  private readonly reads: QuotaReads;
  private readonly usage: UsageStore;

  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly mainTable: string,
    private readonly usageTable: string,
    /** How long after its start a request's usage record is final (MODEL_TIMEOUT_MS + RESERVATION_GRACE_MS). */
    recordFinalityMs = 90_000,
  ) {
    this.leases = new LeaseStore(doc, mainTable, usageTable);
    // With a margin: a record is written a little after its reservation's end at the latest.
    this.credits = new CreditStore(doc, mainTable, usageTable, recordFinalityMs + 15_000);
    this.reads = new QuotaReads(doc, mainTable, usageTable);
    this.usage = new UsageStore(doc, usageTable);
  }

  async reserve(req: ReservationRequest): Promise<ReserveResult> {
    const r = await this.reserveOnce(req);
    // A credit grant's expiry has come: its credit leaves the balance first (no timer does it),
    // then the balance decides.
    if (!r.ok && r.limit === 'insufficient_balance' && r.expiry === 'due') {
      await this.credits.expireDue(req.tenantId, req.now);
      return this.reserveOnce(req);
    }
    // An expired grant's held credit comes back once the requests in flight at its expiry are in
    // the ledger: caught up here (at most once a second per tenant and instance), not by a timer.
    if (!r.ok && r.limit === 'insufficient_balance' && r.expiry === 'settling') {
      const last = this.catchUps.get(req.tenantId) ?? 0;
      const now = req.now.getTime();
      if (now - last < 1_000 && now >= last) return r;
      this.catchUps.set(req.tenantId, now);
      await this.credits.catchUp(req.tenantId, req.now);
      return this.reserveOnce(req);
    }
    return r;
  }

  /** When this instance last caught up a tenant's ledger for a refused request. */
  private readonly catchUps = new Map<string, number>();

  private async reserveOnce(req: ReservationRequest): Promise<ReserveResult> {
    const w = windowsAt(req.now);
    const tooBig = impossible(req.limits, req, req.now);
    if (tooBig) return tooBig;
    const flags = counterFlags(req.limits);
    const reservation: Reservation = {
      tenantId: req.tenantId,
      keyId: req.keyId,
      requestId: req.requestId,
      minute: w.minute,
      month: w.month,
      tokens: req.tokens,
      units: req.units,
      costNanoUsd: req.costNanoUsd,
      expiresAt: new Date(req.now.getTime() + req.ttlMs).toISOString(),
      ...flags,
    };
    const amount: Amount = {
      requests: 1,
      slots: 1,
      tokens: req.tokens,
      units: req.units,
      costNanoUsd: req.costNanoUsd,
    };
    const grants = grantItems(
      this.mainTable,
      { tenantId: req.tenantId, keyId: req.keyId, now: req.now, limits: req.limits, flags },
      amount,
    );
    const put: TransactItem = {
      Put: {
        TableName: this.mainTable,
        Item: {
          ...keys.reservation(req.tenantId, req.requestId),
          type: 'reservation',
          gsi1pk: keys.reservationIndex(shardOf(req.requestId, RESERVATION_SHARDS)),
          gsi1sk: `${reservation.expiresAt}#${req.requestId}`,
          // A last resort only: the sweeper releases long before TTL would delete it.
          ttl: Math.floor(Date.parse(reservation.expiresAt) / 1000) + DAY_S,
          ...reservation,
        },
        ConditionExpression: 'attribute_not_exists(pk)',
      },
    };
    const result = await transact(this.doc, [...grants.map((g) => g.item), put]);
    if (result.ok) return { ok: true, reservation };
    const failed = result.reasons.findIndex((r) => r.Code === 'ConditionalCheckFailed');
    if (failed === grants.length) throw new Error(`reservation for ${req.requestId} already exists`);
    return grants[failed]!.on(result.reasons[failed]?.Item);
  }

  /**
   * Records a reserved request's usage and swaps its reservation for the actual use, in one
   * transaction: the usage record (conditional on its request id), the reservation deleted, the
   * counters corrected. Only requests near a limit take this path (the rest are admitted from
   * leases, whose requests write their record alone). If the sweeper already released the
   * reservation (the request outlived it), the actual use is counted in full instead; if the request
   * id was already recorded, nothing changes.
   */
  async settle(r: Reservation, actual: Actual, event: UsageEvent): Promise<'recorded' | 'duplicate'> {
    const record = usageRecordPut(this.usageTable, { ...event, leaseId: r.requestId });
    const withReservation = await transact(this.doc, [record, ...this.correctionItems(r, actual)]);
    if (withReservation.ok) return 'recorded';
    if (withReservation.reasons[0]?.Code === 'ConditionalCheckFailed') return 'duplicate';
    const unreserved = await transact(this.doc, [
      record,
      ...counterDeltaItems(this.mainTable, r, { ...actual, requests: 0, slots: 0 }),
    ]);
    return unreserved.ok ? 'recorded' : 'duplicate';
  }

  /**
   * A reserved request whose usage record was written ahead (naming the reservation): the
   * reservation swapped for the actual use; if the sweeper released it meanwhile (it saw no record
   * yet), the actual use is counted in full instead.
   */
  async settleRecorded(r: Reservation, actual: Actual): Promise<void> {
    if (await this.correct(r, actual)) return;
    // The sweeper got there first: it counted the record (and marked it), or it released the
    // reservation before the record existed, and the use is counted here.
    const record = (await this.usage.get(r.tenantId, r.requestId)) as { correctedAt?: string } | undefined;
    if (record?.correctedAt) return;
    await transact(this.doc, counterDeltaItems(this.mainTable, r, { ...actual, requests: 0, slots: 0 }));
  }

  /** The reservation swapped for the actual use: its worst case given back. False if already done. */
  async correct(r: Reservation, actual: Actual): Promise<boolean> {
    return (await transact(this.doc, this.correctionItems(r, actual))).ok;
  }

  private correctionItems(r: Reservation, actual: Actual): TransactItem[] {
    return [
      this.deleteReservation(r),
      ...counterDeltaItems(this.mainTable, r, {
        requests: 0,
        slots: -1,
        tokens: actual.tokens - r.tokens,
        costNanoUsd: actual.costNanoUsd - r.costNanoUsd,
        units: unitsDelta(actual.units, r.units),
      }),
    ];
  }

  /** Gives back everything a reservation held (the model failed). False if it was already released. */
  async release(r: Reservation): Promise<boolean> {
    return (await transact(this.doc, this.releaseItems(r))).ok;
  }

  private releaseItems(r: Reservation): TransactItem[] {
    return [
      this.deleteReservation(r),
      ...counterDeltaItems(this.mainTable, r, {
        requests: 0,
        slots: -1,
        tokens: -r.tokens,
        costNanoUsd: -r.costNanoUsd,
        units: unitsDelta({}, r.units),
      }),
    ];
  }

  /**
   * Releases every reservation, and gives back every lease, that expired before `now` (crashed or
   * lost requests, instances that died holding a lease). Returns how many.
   */
  async sweepExpired(now: Date): Promise<number> {
    let released = 0;
    for (let shard = 0; shard < RESERVATION_SHARDS; shard++) {
      const expired = queryItems(this.doc, {
        TableName: this.mainTable,
        IndexName: 'gsi1',
        KeyConditionExpression: 'gsi1pk = :p AND gsi1sk < :now',
        ExpressionAttributeValues: { ':p': keys.reservationIndex(shard), ':now': now.toISOString() },
      });
      for await (const item of expired) {
        const done =
          item.kind === 'lease'
            ? await this.leases.giveBack(item.tenantId as string, item.leaseId as string, {
                expiredBefore: now,
              })
            : await this.settleFromRecord(item as unknown as Reservation);
        if (done) released++;
      }
    }
    return released;
  }

  /**
   * An expired reservation, finished by its usage record: corrected to the record's use if the
   * request was served (an open stream counts its allowance; the record is marked so that a late
   * settle does not count it again), released if it was not (on the condition that no record has
   * appeared since it was read: a record written ahead of the answer may land at any moment).
   */
  private async settleFromRecord(r: Reservation): Promise<boolean> {
    for (let attempt = 0; attempt < 3; attempt++) {
      const record = await this.usage.get(r.tenantId, r.requestId);
      const recordKey = keys.usageEvent(r.tenantId, r.requestId);
      if (!record) {
        const released = await transact(this.doc, [
          ...this.releaseItems(r),
          {
            ConditionCheck: {
              TableName: this.usageTable,
              Key: recordKey,
              ConditionExpression: 'attribute_not_exists(pk)',
            },
          },
        ]);
        if (released.ok) return true;
        if (released.reasons[0]?.Code === 'ConditionalCheckFailed') return false;
        continue;
      }
      if (record.status === 'void') return this.release(r);
      const units = record.units;
      const actual = {
        tokens: (units.input_tokens ?? 0) + (units.output_tokens ?? 0),
        units,
        costNanoUsd: record.costNanoUsd,
      };
      const corrected = await transact(this.doc, [
        ...this.correctionItems(r, actual),
        {
          Update: {
            TableName: this.usageTable,
            Key: recordKey,
            UpdateExpression: 'SET correctedAt = :now',
            ConditionExpression: 'attribute_exists(pk)',
            ExpressionAttributeValues: { ':now': new Date().toISOString() },
          },
        },
      ]);
      return corrected.ok;
    }
    return false;
  }

  /** The counters a request reports: minute windows and the month, reservations and leases included. */
  peek(
    tenantId: string,
    keyId: string,
    now: Date,
    opts: { credit?: boolean; project?: EffectiveLimits['project'] } = {},
  ): Promise<Peek> {
    return this.reads.peek(tenantId, keyId, now, opts);
  }

  /** A month's use (units and cost; single reservations included, unused lease capacity not). */
  month(tenantId: string, now: Date, month?: string): Promise<MonthUse> {
    return this.reads.month(tenantId, now, month);
  }

  /** A tenant's open reservations and leases (requests in flight, or lost and awaiting the sweeper). */
  openReservations(tenantId: string): Promise<Reservation[]> {
    return this.reads.openReservations(tenantId);
  }

  /** Requests a tenant has in flight, as counted (0 when none or never counted). */
  inFlight(tenantId: string): Promise<number> {
    return this.reads.inFlight(tenantId);
  }

  private deleteReservation(r: Reservation): TransactItem {
    return {
      Delete: {
        TableName: this.mainTable,
        Key: keys.reservation(r.tenantId, r.requestId),
        ConditionExpression: 'attribute_exists(pk)',
      },
    };
  }
}

function unitsDelta(a: Actual['units'], b: Actual['units']): Actual['units'] {
  const out: Actual['units'] = {};
  for (const u of new Set([...Object.keys(a), ...Object.keys(b)]) as Set<keyof Actual['units']>) {
    out[u] = (a[u] ?? 0) - (b[u] ?? 0);
  }
  return out;
}

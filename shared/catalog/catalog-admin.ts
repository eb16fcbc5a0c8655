import type { AuditActor, AuditLog } from '../accounts/audit-log';
import {
  type AdminFailure,
  checkPrices,
  checkVersion,
  fail,
  MODEL_NAME_RE,
  VERSION_ID_RE,
} from './catalog-rules';
import type { CatalogStore } from './catalog-store';
import type { BillingUnit, Catalog, CatalogEntry, ModelDefinition, ModelVersion } from './types';

export type { AdminFailure } from './catalog-rules';
export type AdminResult = { ok: true; entry: CatalogEntry } | AdminFailure;

/** Who makes a change, and in which request: recorded with it in the audit log. */
export interface ChangeBy {
  actor: AuditActor;
  requestId: string | null;
}

const MAX_ATTEMPTS = 3;

type Change = {
  model: ModelDefinition;
  newVersions?: ModelVersion[];
  changedVersions?: ModelVersion[];
};

/**
 * Operator changes to the catalog. Each reads the model consistently, checks the change against
 * the catalog's rules, and writes it with its audit entry in one transaction conditional on the
 * model's revision (retrying on a concurrent edit): no change lands unaudited. Gateways see it within their catalog cache TTL; `onChange`
 * lets the instance that made it drop its cache at once.
 */
export class CatalogAdmin {
  constructor(
    private readonly store: CatalogStore,
    private readonly audit: AuditLog,
    private readonly now: () => Date = () => new Date(),
    private readonly onChange: () => void = () => {},
  ) {}

  /** The whole catalog, read fresh from the store (operators must not see a cached copy). */
  load(): Promise<Catalog> {
    return this.store.load();
  }

  /** A new model with its first version, which becomes the default. */
  async createModel(by: ChangeBy, model: ModelDefinition, first: ModelVersion): Promise<AdminResult> {
    if (!MODEL_NAME_RE.test(model.name))
      return fail('invalid', 'Model names are lowercase a-z, 0-9 and -.', 'name');
    const bad = checkVersion(model, first);
    if (bad) return bad;
    const created: ModelDefinition = {
      ...model,
      defaultVersion: first.version,
      traffic: {},
      createdAt: this.now().toISOString(),
    };
    const badAlias = Object.entries(created.aliases).find(([, v]) => v !== first.version);
    if (badAlias) return fail('invalid', `Alias '${badAlias[0]}' points at an unknown version.`, 'aliases');
    const entry = { model: { ...created, revision: 0 }, versions: new Map([[first.version, first]]) };
    const audit = this.auditEntry(by, 'model.create', model.name, null, { model: created, version: first });
    const written = await this.store.commit({
      model: created,
      expectedRevision: null,
      newVersions: [first],
      also: [this.audit.putItem(audit)],
    });
    if (written === 'conflict') return fail('conflict', `The model '${model.name}' already exists.`, 'name');
    this.onChange();
    return { ok: true, entry };
  }

  /** A new version of a model; it takes no traffic until weights or an alias send it some. */
  createVersion(by: ChangeBy, version: ModelVersion): Promise<AdminResult> {
    return this.mutate(by, 'model.version.create', version.model, version.version, (entry) => {
      if (entry.versions.has(version.version)) {
        return fail(
          'conflict',
          `Version '${version.version}' of '${version.model}' already exists.`,
          'version',
        );
      }
      const bad = checkVersion(entry.model, version);
      if (bad) return bad;
      return { model: entry.model, newVersions: [version] };
    });
  }

  /** Replaces the traffic weights; `{}` sends every unpinned request to the default again. */
  setTraffic(by: ChangeBy, name: string, weights: Record<string, number>): Promise<AdminResult> {
    return this.mutate(by, 'model.traffic.set', name, undefined, (entry) => {
      for (const [id, weight] of Object.entries(weights)) {
        const v = entry.versions.get(id);
        if (!v) return fail('not_found', `The model '${name}' has no version '${id}'.`, `weights.${id}`);
        if (v.status === 'retired') return fail('conflict', `Version '${id}' is retired.`, `weights.${id}`);
        if (!Number.isInteger(weight) || weight < 0 || weight > 10_000) {
          return fail('invalid', 'Weights are integers from 0 to 10000.', `weights.${id}`);
        }
      }
      return { model: { ...entry.model, traffic: { ...weights } } };
    });
  }

  /** Makes a version the default and/or points aliases at it; a preview made default becomes active. */
  promote(
    by: ChangeBy,
    name: string,
    id: string,
    opts: { makeDefault?: boolean; aliases?: string[] },
  ): Promise<AdminResult> {
    return this.mutate(by, 'model.version.promote', name, id, (entry) => {
      const v = entry.versions.get(id);
      if (!v) return fail('not_found', `The model '${name}' has no version '${id}'.`, 'version');
      if (v.status === 'deprecated' || v.status === 'retired') {
        return fail('conflict', `Version '${id}' is ${v.status} and cannot be promoted.`, 'version');
      }
      for (const alias of opts.aliases ?? []) {
        if (!VERSION_ID_RE.test(alias))
          return fail('invalid', `'${alias}' is not a valid alias name.`, 'aliases');
        if (entry.versions.has(alias)) {
          return fail('conflict', `'${alias}' is a version id; an alias may not shadow it.`, 'aliases');
        }
      }
      const aliases = { ...entry.model.aliases };
      for (const alias of opts.aliases ?? []) aliases[alias] = id;
      const model = { ...entry.model, aliases, ...(opts.makeDefault ? { defaultVersion: id } : {}) };
      const changed = opts.makeDefault && v.status === 'preview' ? [{ ...v, status: 'active' as const }] : [];
      return { model, changedVersions: changed };
    });
  }

  /** Deprecated versions still answer, with `Deprecation` and `Sunset` headers. */
  deprecate(by: ChangeBy, name: string, id: string, sunsetAt: string): Promise<AdminResult> {
    return this.mutate(by, 'model.version.deprecate', name, id, (entry) => {
      const v = entry.versions.get(id);
      if (!v) return fail('not_found', `The model '${name}' has no version '${id}'.`, 'version');
      if (v.status === 'deprecated' || v.status === 'retired') {
        return fail('conflict', `Version '${id}' is already ${v.status}.`, 'version');
      }
      if (entry.model.defaultVersion === id) {
        return fail(
          'conflict',
          `Version '${id}' is the default; make another version the default first.`,
          'version',
        );
      }
      const sunset = Date.parse(sunsetAt);
      if (Number.isNaN(sunset) || sunset <= this.now().getTime()) {
        return fail('invalid', 'sunset_at must be a date-time in the future.', 'sunset_at');
      }
      const changed: ModelVersion = {
        ...v,
        status: 'deprecated',
        deprecatedAt: this.now().toISOString(),
        sunsetAt: new Date(sunset).toISOString(),
      };
      return { model: entry.model, changedVersions: [changed] };
    });
  }

  /**
   * Retired versions refuse calls with an error naming `replacement`. Aliases that pointed at it
   * move to the replacement and its traffic weight is dropped; the default cannot be retired.
   */
  retire(by: ChangeBy, name: string, id: string, replacement: string): Promise<AdminResult> {
    return this.mutate(by, 'model.version.retire', name, id, (entry) => {
      const v = entry.versions.get(id);
      if (!v) return fail('not_found', `The model '${name}' has no version '${id}'.`, 'version');
      if (v.status === 'retired') return fail('conflict', `Version '${id}' is already retired.`, 'version');
      if (entry.model.defaultVersion === id) {
        return fail(
          'conflict',
          `Version '${id}' is the default; make another version the default first.`,
          'version',
        );
      }
      const next = entry.versions.get(replacement);
      if (!next || replacement === id || next.status === 'retired') {
        return fail('invalid', 'The replacement must be another version that is not retired.', 'replacement');
      }
      const aliases = Object.fromEntries(
        Object.entries(entry.model.aliases).map(([alias, target]) => [
          alias,
          target === id ? replacement : target,
        ]),
      );
      const { [id]: _dropped, ...traffic } = entry.model.traffic ?? {};
      const changed: ModelVersion = {
        ...v,
        status: 'retired',
        replacement,
        sunsetAt: v.sunsetAt ?? this.now().toISOString(),
      };
      return { model: { ...entry.model, aliases, traffic }, changedVersions: [changed] };
    });
  }

  /** New prices take effect with a new price book; usage already recorded keeps the old one. */
  /**
   * A version's new price book: its online prices and, optionally, its batch prices (each at most
   * the online price of its unit). Without batch prices the version's batch lines cost the default
   * share of the new online prices (`batchPrices`), so a lower online price never leaves batch dearer.
   */
  setPrices(
    by: ChangeBy,
    name: string,
    id: string,
    prices: Partial<Record<BillingUnit, number>>,
    batch?: Partial<Record<BillingUnit, number>> | null,
  ): Promise<AdminResult> {
    return this.mutate(by, 'model.version.prices.set', name, id, (entry) => {
      const v = entry.versions.get(id);
      if (!v) return fail('not_found', `The model '${name}' has no version '${id}'.`, 'version');
      if (v.status === 'retired') return fail('conflict', `Version '${id}' is retired.`, 'version');
      const bad = checkPrices(entry.model, prices);
      if (bad) return bad;
      if (batch) {
        const badBatch = checkPrices(entry.model, batch);
        if (badBatch) return { ...badBatch, param: badBatch.param?.replace(/^prices\./, 'batch_prices.') };
        for (const unit of entry.model.units) {
          if ((batch[unit] ?? 0) > (prices[unit] ?? 0))
            return fail(
              'invalid',
              `The batch price per ${unit} (${batch[unit]}) is above the online price (${prices[unit]}).`,
              `batch_prices.${unit}`,
            );
        }
      }
      // The model's next revision makes the id unique even for two changes within a millisecond.
      const stamp = this.now().toISOString().replace(/[-:]/g, '');
      const priceBook = `pb-${stamp}-r${(entry.model.revision ?? 0) + 1}`;
      const { batchPrices: _old, ...rest } = v;
      return {
        model: entry.model,
        changedVersions: [
          { ...rest, prices: { ...prices }, ...(batch ? { batchPrices: { ...batch } } : {}), priceBook },
        ],
      };
    });
  }

  private auditEntry(
    by: ChangeBy,
    action: string,
    target: string,
    before: Record<string, unknown> | null,
    after: Record<string, unknown> | null,
  ) {
    return this.audit.entry(
      {
        actor: by.actor,
        action,
        target: { type: 'model', id: target },
        before,
        after,
        requestId: by.requestId,
      },
      this.now(),
    );
  }

  private async mutate(
    by: ChangeBy,
    action: string,
    name: string,
    versionId: string | undefined,
    apply: (entry: CatalogEntry) => Change | AdminFailure,
  ): Promise<AdminResult> {
    for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
      const entry = await this.store.getEntry(name);
      if (!entry) return fail('not_found', `The model '${name}' does not exist.`, 'model');
      const change = apply(entry);
      if ('ok' in change) return change;
      const after: CatalogEntry = {
        model: { ...change.model, revision: (entry.model.revision ?? 0) + 1 },
        versions: new Map(entry.versions),
      };
      for (const v of [...(change.newVersions ?? []), ...(change.changedVersions ?? [])]) {
        after.versions.set(v.version, v);
      }
      const target = versionId === undefined ? name : `${name}@${versionId}`;
      const audit = this.auditEntry(
        by,
        action,
        target,
        auditView(entry, versionId),
        auditView(after, versionId),
      );
      const written = await this.store.commit({
        ...change,
        expectedRevision: entry.model.revision ?? 0,
        also: [this.audit.putItem(audit)],
      });
      if (written === 'conflict') continue;
      this.onChange();
      return { ok: true, entry: after };
    }
    return fail('conflict', `The model '${name}' changed concurrently; try again.`);
  }
}

function auditView(entry: CatalogEntry, versionId: string | undefined): Record<string, unknown> {
  const { revision: _r, ...model } = entry.model;
  return versionId === undefined ? { model } : { model, version: entry.versions.get(versionId) ?? null };
}

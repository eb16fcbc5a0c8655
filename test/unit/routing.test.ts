import { describe, expect, it } from 'vitest';
import { ModelResolver, parseModelRef } from '../../shared/catalog/resolver';
import { pickByWeight, trafficPoint, trafficSlots } from '../../shared/catalog/traffic';
import { fixedCatalog, model, version } from '../support/catalog-fixtures';

/** Fixed synthetic tenants: the hash is deterministic, so these statistics are reproducible. */
const TENANTS = Array.from({ length: 2_000 }, (_, i) => `ten_synthetic_${i.toString().padStart(5, '0')}`);

function resolverWith(traffic: Record<string, number>, extra: { aliases?: Record<string, string> } = {}) {
  return new ModelResolver(
    fixedCatalog([
      {
        model: model('m', { traffic, aliases: { stable: 'v1', canary: 'v2', ...extra.aliases } }),
        versions: [
          version('m', 'v1', { releasedAt: '2026-01-01T00:00:00Z' }),
          version('m', 'v2', { releasedAt: '2026-02-01T00:00:00Z' }),
          version('m', 'v3', { releasedAt: '2026-03-01T00:00:00Z', status: 'preview' }),
          version('m', 'old', {
            releasedAt: '2025-01-01T00:00:00Z',
            status: 'retired',
            replacement: 'v2',
          }),
        ],
      },
    ]),
    60_000,
  );
}

async function servedVersion(r: ModelResolver, ref: string, tenantId: string, pins?: Record<string, string>) {
  const res = await r.resolve(ref, { tenantId, pins });
  if (!res.ok) throw new Error(`unexpected ${res.reason}`);
  return res.version.version;
}

describe('traffic points', () => {
  it('are in [0, 1), fixed per tenant and model, and independent between models', () => {
    const a = trafficPoint('ten_1', 'ocr');
    expect(a).toBeGreaterThanOrEqual(0);
    expect(a).toBeLessThan(1);
    expect(trafficPoint('ten_1', 'ocr')).toBe(a);
    expect(trafficPoint('ten_1', 'image-moderation')).not.toBe(a);
  });

  it('spread uniformly enough: each tenth of [0, 1) holds about a tenth of the tenants', () => {
    const buckets = new Array(10).fill(0);
    for (const t of TENANTS) buckets[Math.floor(trafficPoint(t, 'm') * 10)]++;
    // 200 expected per bucket; binomial sd is about 13.4, so +-60 is more than 4 sd.
    for (const n of buckets) expect(Math.abs(n - 200)).toBeLessThan(60);
  });

  it('pick by cumulative weight in release order and ignore zero weights', () => {
    const slots = [
      { version: 'a', weight: 3 },
      { version: 'b', weight: 1 },
    ];
    expect(pickByWeight(0, slots)).toBe('a');
    expect(pickByWeight(0.7499, slots)).toBe('a');
    expect(pickByWeight(0.75, slots)).toBe('b');
    expect(pickByWeight(0.9999999, slots)).toBe('b');
    expect(pickByWeight(0.5, [])).toBeUndefined();
    expect(pickByWeight(0.5, [{ version: 'a', weight: 0 }])).toBeUndefined();
  });

  it('leave retired versions and unknown versions out of the weights', () => {
    const slots = trafficSlots({
      model: model('m', { traffic: { v1: 1, old: 5, ghost: 5, v2: 1 } }),
      versions: new Map([
        ['v1', version('m', 'v1', { releasedAt: '2026-01-01T00:00:00Z' })],
        ['v2', version('m', 'v2', { releasedAt: '2026-02-01T00:00:00Z' })],
        ['old', version('m', 'old', { status: 'retired' })],
      ]),
    });
    expect(slots).toEqual([
      { version: 'v1', weight: 1 },
      { version: 'v2', weight: 1 },
    ]);
  });
});

describe('weighted versions (canary), sticky per tenant', () => {
  it('90/10 over 2,000 tenants lands within 2 points of 10% on the canary', async () => {
    const r = resolverWith({ v1: 90, v2: 10 });
    let canary = 0;
    for (const t of TENANTS) if ((await servedVersion(r, 'm', t)) === 'v2') canary++;
    const share = canary / TENANTS.length;
    // sd of the share is about 0.67 points; 2 points is 3 sd.
    expect(share).toBeGreaterThan(0.08);
    expect(share).toBeLessThan(0.12);
  });

  it('a tenant always gets the same version', async () => {
    const r = resolverWith({ v1: 50, v2: 50 });
    for (const t of TENANTS.slice(0, 200)) {
      const first = await servedVersion(r, 'm', t);
      for (let i = 0; i < 5; i++) expect(await servedVersion(r, 'm', t)).toBe(first);
    }
  });

  it('90/10 -> 80/20 moves only tenants onto the canary, and only about a tenth of them', async () => {
    const before = resolverWith({ v1: 90, v2: 10 });
    const after = resolverWith({ v1: 80, v2: 20 });
    let moved = 0;
    for (const t of TENANTS) {
      const a = await servedVersion(before, 'm', t);
      const b = await servedVersion(after, 'm', t);
      if (a !== b) {
        moved++;
        // Nobody leaves the canary when it grows.
        expect([a, b]).toEqual(['v1', 'v2']);
      }
    }
    expect(moved / TENANTS.length).toBeGreaterThan(0.08);
    expect(moved / TENANTS.length).toBeLessThan(0.12);
  });

  it('with no positive weight everything goes to the default', async () => {
    const r = resolverWith({ v1: 0, v2: 0 });
    for (const t of TENANTS.slice(0, 50)) expect(await servedVersion(r, 'm', t)).toBe('v1');
    const res = await r.resolve('m', { tenantId: 'ten_x' });
    expect(res.ok && res.selectedBy).toBe('default');
  });

  it('a request without a tenant gets the default', async () => {
    const r = resolverWith({ v2: 100 });
    expect(await r.resolve('m')).toMatchObject({ ok: true, selectedBy: 'default' });
  });
});

describe('resolution order: explicit > pin > weights > default', () => {
  const tenant = 'ten_order';

  it('an explicit version or alias always wins, even over a pin and weights', async () => {
    const r = resolverWith({ v2: 100 });
    expect(await servedVersion(r, 'm@v1', tenant, { m: 'v3' })).toBe('v1');
    expect(await servedVersion(r, 'm@stable', tenant, { m: 'v3' })).toBe('v1');
    expect(await r.resolve('m@stable', { tenantId: tenant })).toMatchObject({ selectedBy: 'alias' });
    expect(await r.resolve('m@v1', { tenantId: tenant })).toMatchObject({ selectedBy: 'version' });
  });

  it('a pin (version or alias) beats the weights', async () => {
    const r = resolverWith({ v2: 100 });
    expect(await r.resolve('m', { tenantId: tenant, pins: { m: 'v1' } })).toMatchObject({
      ok: true,
      selectedBy: 'pin',
    });
    expect(await servedVersion(r, 'm', tenant, { m: 'canary' })).toBe('v2');
    // A pin of another model changes nothing here.
    expect(await r.resolve('m', { tenantId: tenant, pins: { other: 'v1' } })).toMatchObject({
      selectedBy: 'traffic',
    });
  });

  it('preview versions are reachable by name, alias and pin', async () => {
    const r = resolverWith({});
    expect(await servedVersion(r, 'm@v3', tenant)).toBe('v3');
    expect(await servedVersion(r, 'm', tenant, { m: 'v3' })).toBe('v3');
  });

  it('retired versions refuse with the replacement, also through a pin', async () => {
    const r = resolverWith({});
    expect(await r.resolve('m@old', { tenantId: tenant })).toEqual({
      ok: false,
      reason: 'retired',
      model: 'm',
      version: 'old',
      replacement: 'v2',
    });
    expect(await r.resolve('m', { tenantId: tenant, pins: { m: 'old' } })).toMatchObject({
      reason: 'retired',
      pinned: true,
    });
  });

  it('unknown models, versions and pins are told apart', async () => {
    const r = resolverWith({});
    expect(await r.resolve('nope')).toMatchObject({ ok: false, reason: 'unknown_model' });
    expect(await r.resolve('m@v9')).toMatchObject({ ok: false, reason: 'unknown_version', version: 'v9' });
    expect(await r.resolve('m', { tenantId: tenant, pins: { m: 'gone' } })).toMatchObject({
      reason: 'unknown_version',
      version: 'gone',
      pinned: true,
    });
    expect(await r.resolve('M!')).toMatchObject({ reason: 'unknown_model' });
  });

  it('parses references', () => {
    expect(parseModelRef('ocr')).toEqual({ name: 'ocr' });
    expect(parseModelRef('ocr@ppocr-v4')).toEqual({ name: 'ocr', requested: 'ppocr-v4' });
    expect(parseModelRef('ocr@')).toBeUndefined();
    expect(parseModelRef('a@b@c')).toBeUndefined();
  });
});

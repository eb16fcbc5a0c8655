import { createHash } from 'node:crypto';
import type { CatalogEntry } from './types';

/**
 * A tenant's fixed point in [0, 1) for one model: the first 48 bits of SHA-256(tenant, model).
 * The same tenant always lands on the same point, so its traffic does not flap between versions,
 * and different models spread tenants independently.
 */
export function trafficPoint(tenantId: string, model: string): number {
  const digest = createHash('sha256').update(`${tenantId}\u0000${model}`).digest();
  return digest.readUIntBE(0, 6) / 2 ** 48;
}

/**
 * The versions that take weighted traffic, in a stable order (release date, then id) with their
 * weights. Retired versions and non-positive weights are left out.
 */
export function trafficSlots(entry: CatalogEntry): { version: string; weight: number }[] {
  const slots: { version: string; weight: number; releasedAt: string }[] = [];
  for (const [version, weight] of Object.entries(entry.model.traffic ?? {})) {
    const v = entry.versions.get(version);
    if (!v || v.status === 'retired' || !(weight > 0) || !Number.isFinite(weight)) continue;
    slots.push({ version, weight, releasedAt: v.releasedAt });
  }
  slots.sort((a, b) =>
    a.releasedAt === b.releasedAt
      ? a.version.localeCompare(b.version)
      : a.releasedAt.localeCompare(b.releasedAt),
  );
  return slots.map(({ version, weight }) => ({ version, weight }));
}

/**
 * The version whose cumulative weight range holds `point`. Ranges are laid out in release order,
 * so moving weight from an older version to a newer one (90/10 to 80/20) moves exactly the tenants
 * in the slice that changed hands and nobody else. Undefined when no version takes traffic.
 */
export function pickByWeight(
  point: number,
  slots: { version: string; weight: number }[],
): string | undefined {
  const total = slots.reduce((sum, s) => sum + s.weight, 0);
  if (!(total > 0)) return undefined;
  let cumulative = 0;
  for (const slot of slots) {
    cumulative += slot.weight / total;
    if (point < cumulative) return slot.version;
  }
  // Rounding can leave the last range a hair short of 1.
  return slots[slots.length - 1]?.version;
}

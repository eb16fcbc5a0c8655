import { createHash, timingSafeEqual } from 'node:crypto';
import { isIP } from 'node:net';

/**
 * Which address a request came from, for the per-IP limits (login failures, invalid API keys).
 *
 * Behind CloudFront the connection's source is an edge server, shared by everyone that edge
 * serves. The distribution's viewer-request function sets `VIEWER_IP_HEADER` to the viewer's
 * address, and every API origin of the distribution sends `EDGE_SECRET_HEADER` with the stage's
 * edge secret. The header is believed only with that secret: a caller reaching the API directly
 * (its own URL) cannot name its address, and gets its source address, as before.
 */
export const VIEWER_IP_HEADER = 'x-tollgate-viewer-ip';
export const EDGE_SECRET_HEADER = 'x-tollgate-edge-secret';

const digest = (s: string) => createHash('sha256').update(s).digest();

/** Compares in constant time (over digests, so the lengths do not leak either). */
export function secretMatches(given: string | undefined, expected: string): boolean {
  return given !== undefined && timingSafeEqual(digest(given), digest(expected));
}

export function clientAddress(
  sourceIp: string | null | undefined,
  header: (name: string) => string | undefined,
  edgeSecret: string | undefined,
): string | null {
  if (edgeSecret && secretMatches(header(EDGE_SECRET_HEADER), edgeSecret)) {
    const viewer = header(VIEWER_IP_HEADER)?.trim();
    if (viewer && isIP(viewer) !== 0) return viewer;
  }
  return sourceIp ?? null;
}

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

/**
 * The local server's client address: the header `trustedHeader` names (CLIENT_IP_HEADER) when it is
 * configured and holds one address, as the trusted proxy in front sets it; otherwise what
 * `clientAddress` vouches for (the socket's address, or CloudFront's viewer with the edge secret).
 * No header is believed unless configured: X-Forwarded-For never is.
 */
export function localClientAddress(
  sourceIp: string | null | undefined,
  header: (name: string) => string | undefined,
  config: { CLIENT_IP_HEADER?: string | undefined; EDGE_SECRET?: string | undefined },
): string | null {
  if (config.CLIENT_IP_HEADER) {
    const given = header(config.CLIENT_IP_HEADER)?.trim();
    if (given && isIP(given) !== 0) return given;
  }
  return clientAddress(sourceIp, header, config.EDGE_SECRET);
}

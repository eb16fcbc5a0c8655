/**
 * What a key may be restricted to, beyond the tenant's and project's rights: some models or
 * versions, some endpoints, read-only use, and the addresses it may be used from. A key without a
 * scope (or with an empty one) may do everything its project may.
 */
export const keyEndpoints = ['chat', 'embeddings', 'text', 'images', 'batch'] as const;
export type KeyEndpoint = (typeof keyEndpoints)[number];

export interface KeyScope {
  /** Model names (`chat-small`) or versions (`chat-small@2`) the key may call. Absent: all. */
  models?: string[];
  /** Endpoints the key may call. Absent: all. */
  endpoints?: KeyEndpoint[];
  /** Usage and models only: no inference, no batches. */
  readOnly?: boolean;
  /** CIDR ranges (IPv4 or IPv6) the key may be used from, checked on the address the edge vouches for. Absent: any. */
  ipAllowlist?: string[];
}

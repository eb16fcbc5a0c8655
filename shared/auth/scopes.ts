/**
 * What an API key may be limited to. A key with no scopes may do everything a key can; a key
 * with scopes may do only those.
 */
export const apiKeyScopes = ['models:invoke', 'usage:read'] as const;
export type ApiKeyScope = (typeof apiKeyScopes)[number];

export function keyAllows(scopes: readonly string[], needed: ApiKeyScope): boolean {
  return scopes.length === 0 || scopes.includes(needed);
}

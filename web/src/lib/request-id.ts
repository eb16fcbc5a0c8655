/**
 * A request id out of whatever was pasted: the bare id, or the id with what came with it from an
 * error (quotes, whitespace, `"request_id": "req_..."`, a whole error envelope, an
 * `x-request-id:` header line). Null when there is no request id in it. Ids are Crockford base32,
 * upper case; a lower-cased paste is read as the same id.
 */
export function requestIdFromPaste(text: string): string | null {
  const found = /req_[0-9a-hjkmnp-tv-z]{26}(?![0-9a-z])/i.exec(text.trim());
  if (!found) return null;
  return `req_${found[0].slice(4).toUpperCase()}`;
}

/**
 * Opaque pagination cursors: a Query's LastEvaluatedKey as base64url JSON. Decoding checks the
 * shape and that the cursor belongs to the partition being read, so a crafted cursor cannot
 * start a Query anywhere else; a bad cursor is a value (undefined), for the route to answer 400.
 */
export function encodeCursor(lastKey: Record<string, unknown> | undefined): string | null {
  return lastKey ? Buffer.from(JSON.stringify(lastKey), 'utf8').toString('base64url') : null;
}

export function decodeCursor(
  cursor: string,
  expect: Record<string, string>,
): Record<string, string> | undefined {
  if (cursor.length > 2048 || !/^[A-Za-z0-9_-]+$/.test(cursor)) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
  if (!value || typeof value !== 'object' || Array.isArray(value)) return undefined;
  const entries = Object.entries(value);
  if (entries.length > 4 || !entries.every(([, v]) => typeof v === 'string')) return undefined;
  const key = value as Record<string, string>;
  for (const [name, expected] of Object.entries(expect)) if (key[name] !== expected) return undefined;
  return key;
}

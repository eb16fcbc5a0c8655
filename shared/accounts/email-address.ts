/**
 * The one form an address is stored and looked up in. Lower-casing the local part is technically
 * wrong by RFC 5321 and right in practice: nobody expects Bob@ and bob@ to be two accounts.
 */
export function normalizeEmail(email: string): string {
  return email.trim().toLowerCase();
}

import { createHash } from 'node:crypto';

/** A Spot account id: "act-" and 8 hex digits (Spot console → Settings → Account). */
export const ACCOUNT_ID = /^act-[0-9a-f]{8}$/;
/** Azure subscription, tenant and role definition ids. */
export const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A UUID fixed by its parts, so a re-run PUTs the same object instead of making a second one. */
export function deterministicGuid(...parts: string[]): string {
  const hex = createHash('sha256')
    .update(parts.map((p) => p.toLowerCase()).join('|'))
    .digest('hex');
  // Shaped as an RFC 4122 name-based UUID (version 5 bits, variant 10) so ARM accepts it.
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-5${hex.slice(13, 16)}-${((parseInt(hex.slice(16, 18), 16) & 0x3f) | 0x80).toString(16)}${hex.slice(18, 20)}-${hex.slice(20, 32)}`;
}

/** Azure ids (subscriptions, principals, assignments) compare without case: ARM answers in lower case, users type either. */
export function sameId(a: string | undefined, b: string | undefined): boolean {
  return a !== undefined && b !== undefined && a.toLowerCase() === b.toLowerCase();
}

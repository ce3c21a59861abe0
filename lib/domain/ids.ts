/** A Spot account id: "act-" and 8 hex digits (Spot console → Settings → Account). */
export const ACCOUNT_ID = /^act-[0-9a-f]{8}$/;
/** Azure subscription, tenant and role definition ids. */
export const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

import { AsyncLocalStorage } from 'node:async_hooks';
import diagnosticsChannel from 'node:diagnostics_channel';
import type { Api } from './errors.ts';

/** One HTTP request as the audit log records it: never a body, a header value other than ids, or a token. */
export interface AuditEntry {
  /** When the request was sent (ISO 8601). */
  time: string;
  service: Api;
  method: string;
  url: string;
  /** The answer's status; 0 when no answer came. */
  status: number;
  durationMs: number;
  /** How many times this same call was sent before: our lag retries plus the SDK's own. */
  retry: number;
  /** The service's own ids for the request, under the names the service gives them. */
  requestIds: Record<string, string>;
  /** Why no answer came (a reset connection, a timeout). */
  error?: string;
}

/** Where observed requests are published; the audit log subscribes (node:diagnostics_channel costs nothing without subscribers). */
export const auditChannel = diagnosticsChannel.channel('spot-azure-onboard:http');

export function auditing(): boolean {
  return auditChannel.hasSubscribers;
}

export function publishAudit(entry: AuditEntry): void {
  if (auditChannel.hasSubscribers) auditChannel.publish(entry);
}

const lagRetries = new AsyncLocalStorage<number>();

/** Runs `attempt` as retry number `n` of its call, so every request it sends is logged with that number. */
export function asRetry<T>(n: number, attempt: () => T): T {
  const outer = lagRetries.getStore() ?? 0;
  return n === 0 && outer === 0 ? attempt() : lagRetries.run(outer + n, attempt);
}

/** The retry number of the call the current request belongs to (0 outside any retry loop). */
export function currentRetry(): number {
  return lagRetries.getStore() ?? 0;
}

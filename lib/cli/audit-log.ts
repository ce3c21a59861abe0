import { closeSync, fchmodSync, openSync, writeSync } from 'node:fs';
import { observeHttp } from '../clients/http-observer.ts';
import type { Endpoints } from '../config/config.ts';
import { type AuditEntry, auditChannel } from '../core/audit.ts';
import { UsageError } from '../core/errors.ts';
import type { Redactor } from '../core/redact.ts';

export interface AuditLog {
  close(): void;
}

/**
 * --audit-log: one JSON line per HTTP request, appended to `path` (mode 0600, even when the file was
 * there before). Each line is written as its answer arrives, synchronously, so a run that fails or is
 * killed leaves every line up to the failed request. Lines pass the run's redactor too, though an
 * entry never holds a body or a header other than ids.
 */
export function openAuditLog(path: string, endpoints: Endpoints, redactor: Redactor): AuditLog {
  let fd: number;
  try {
    fd = openSync(path, 'a', 0o600);
    fchmodSync(fd, 0o600);
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code ?? String(error);
    throw new UsageError([`--audit-log ${path} cannot be opened for appending (${reason}).`], 'Give a file in a directory you can write to.');
  }
  const write = (entry: unknown) => writeSync(fd, `${redactor.redact(JSON.stringify(entry as AuditEntry))}\n`);
  auditChannel.subscribe(write);
  const stopObserving = observeHttp(endpoints);
  return {
    close() {
      stopObserving();
      auditChannel.unsubscribe(write);
      closeSync(fd);
    },
  };
}

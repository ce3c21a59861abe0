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
export function openAuditLog(path: string, endpoints: Endpoints, redactor: Redactor, warn: (message: string) => void): AuditLog {
  let fd: number | undefined;
  try {
    fd = openSync(path, 'a', 0o600);
    fchmodSync(fd, 0o600);
  } catch (error) {
    if (fd !== undefined) closeSync(fd);
    const reason = (error as NodeJS.ErrnoException).code ?? String(error);
    throw new UsageError([`--audit-log ${path} cannot be opened for appending (${reason}).`], 'Give a file in a directory you can write to.');
  }
  const file = fd;
  let broken = false;
  const write = (entry: unknown) => {
    if (broken) return;
    try {
      writeSync(file, `${redactor.redact(JSON.stringify(entry as AuditEntry))}\n`);
    } catch (error) {
      // A full disk must not end the run mid-step (a throw here would surface in the SDK's request).
      broken = true;
      warn(`The audit log ${path} could not be written (${(error as NodeJS.ErrnoException).code ?? String(error)}); it stops here, the run goes on.`);
    }
  };
  auditChannel.subscribe(write);
  const stopObserving = observeHttp(endpoints);
  return {
    close() {
      stopObserving();
      auditChannel.unsubscribe(write);
      closeSync(file);
    },
  };
}

import * as assert from 'uvu/assert';

/** uvu's assert.throws is synchronous; this is its async twin. Returns the error for further checks. */
export async function rejects(promise: Promise<unknown>, check?: (error: unknown) => boolean, message?: string): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    if (check) assert.ok(check(error), message ?? `unexpected error: ${String(error)}`);
    return error;
  }
  assert.unreachable(message ?? 'expected the promise to reject');
  return undefined;
}

/** Runs `task` over `items`, at most `limit` at a time (each e2e case spawns a CLI; the machine has two cores). */
export async function eachConcurrently<T>(items: T[], limit: number, task: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await task(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

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

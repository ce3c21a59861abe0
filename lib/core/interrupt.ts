import { OnboardError } from './errors.ts';

/** A sleep that ends early, with an error, when the run is interrupted. */
export function abortableSleep(signal: AbortSignal): (ms: number) => Promise<void> {
  return (ms) =>
    new Promise((resolve, reject) => {
      if (signal.aborted) return reject(interrupted());
      const timer = setTimeout(() => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      }, ms);
      const onAbort = () => {
        clearTimeout(timer);
        reject(interrupted());
      };
      signal.addEventListener('abort', onAbort, { once: true });
    });
}

export function interrupted(): OnboardError {
  return new OnboardError('interrupted', 'Interrupted.', 'Run the same command again to pick up where it stopped.');
}

/** What the runner and the steps tell the person watching. The writer behind it redacts secrets. */
export interface Reporter {
  stepStart(id: string, title: string): void;
  stepDone(id: string, summary: string): void;
  stepFailed(id: string, message: string): void;
  retrying(id: string, attempt: number, max: number, reason: string): void;
  info(message: string): void;
  warn(message: string): void;
}

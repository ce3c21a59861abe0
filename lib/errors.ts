/** The few kinds of failure the tool distinguishes; each maps to one exit code and one kind of hint. */
export type ErrorKind =
  | 'usage'
  | 'invalid-input'
  | 'unauthorized'
  | 'forbidden'
  | 'not-found'
  | 'conflict'
  | 'lag'
  | 'throttled'
  | 'unavailable'
  | 'state'
  /** Some of several independent subscriptions failed (fleet mode); each has its own error. */
  | 'partial'
  | 'interrupted';

export type Api = 'identity' | 'graph' | 'arm' | 'spot';

/** A failure we understand: `message` says what went wrong, `hint` what to do about it. */
export class OnboardError extends Error {
  readonly kind: ErrorKind;
  readonly hint: string | undefined;

  constructor(kind: ErrorKind, message: string, hint?: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'OnboardError';
    this.kind = kind;
    this.hint = hint;
  }

  get exitCode(): number {
    if (this.kind === 'usage') return 2;
    if (this.kind === 'interrupted') return 130;
    return 1;
  }
}

/** Every problem with the command line and environment, reported together. */
export class UsageError extends OnboardError {
  readonly problems: string[];

  constructor(problems: string[], hint = 'Run with --help to see every option.') {
    super('usage', problems.join('\n'), hint);
    this.name = 'UsageError';
    this.problems = problems;
  }
}

/** An API answered with an error; `code` is the API's own error code when it sent one. */
export class ApiError extends OnboardError {
  readonly api: Api;
  readonly status: number;
  readonly code: string | undefined;
  readonly detailCodes: string[];

  constructor(
    api: Api,
    init: { kind: ErrorKind; status: number; code?: string; message: string; detailCodes?: string[]; hint?: string },
    options?: { cause?: unknown },
  ) {
    super(init.kind, init.message, init.hint, options);
    this.name = 'ApiError';
    this.api = api;
    this.status = init.status;
    this.code = init.code;
    this.detailCodes = init.detailCodes ?? [];
  }

  /** The same failure with a hint that fits the call that failed. */
  withHint(hint: string, message = this.message): ApiError {
    return new ApiError(
      this.api,
      { kind: this.kind, status: this.status, code: this.code, message, detailCodes: this.detailCodes, hint },
      { cause: this.cause },
    );
  }
}

/** The hint for a service that could not be reached at all (no HTTP answer); shared by the API clients. */
export const UNREACHABLE_HINT = 'Check the network connection and any proxy, then run the same command again; it continues where it stopped.';

export function kindForStatus(status: number): ErrorKind {
  if (status === 400 || status === 422) return 'invalid-input';
  if (status === 401) return 'unauthorized';
  if (status === 403) return 'forbidden';
  if (status === 404) return 'not-found';
  if (status === 409) return 'conflict';
  if (status === 429) return 'throttled';
  return 'unavailable';
}

export function isApiError(error: unknown, api?: Api): error is ApiError {
  return error instanceof ApiError && (api === undefined || error.api === api);
}

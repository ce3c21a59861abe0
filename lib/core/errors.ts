/** The few kinds of failure the tool distinguishes; each maps to one exit code and one kind of hint. */
export type ErrorKind =
  | 'usage'
  | 'invalid-input'
  | 'unauthorized'
  | 'forbidden'
  | 'not-found'
  | 'conflict'
  | 'throttled'
  | 'unavailable'
  | 'state'
  /** Some of several independent subscriptions failed (fleet mode); each has its own error. */
  | 'partial'
  | 'interrupted';

export type Api = 'identity' | 'graph' | 'arm' | 'spot';

/** A request's ids under the names its service gives them (Graph `request-id`, ARM `x-ms-request-id`, Spot `request.id`…). */
export interface ServiceRequestIds {
  api: Api;
  ids: Record<string, string>;
}

const SERVICE_NAMES: Record<Api, string> = { identity: 'Entra ID', graph: 'Microsoft Graph', arm: 'Azure Resource Manager', spot: 'Spot' };

/** A failure we understand: `message` says what went wrong, `hint` what to do about it. */
export class OnboardError extends Error {
  readonly kind: ErrorKind;
  readonly hint: string | undefined;
  /** The ids of the failed request, when a service answered it: what its support asks for first. */
  readonly requestIds: ServiceRequestIds | undefined;

  constructor(kind: ErrorKind, message: string, hint?: string, options?: { cause?: unknown; requestIds?: ServiceRequestIds }) {
    super(message, options);
    this.name = 'OnboardError';
    this.kind = kind;
    this.hint = hint;
    this.requestIds = options?.requestIds && Object.keys(options.requestIds.ids).length > 0 ? options.requestIds : undefined;
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
    init: { kind: ErrorKind; status: number; code?: string; message: string; detailCodes?: string[]; hint?: string; requestIds?: Record<string, string> },
    options?: { cause?: unknown },
  ) {
    super(init.kind, init.message, init.hint, { ...options, requestIds: init.requestIds && { api, ids: init.requestIds } });
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
      { kind: this.kind, status: this.status, code: this.code, message, detailCodes: this.detailCodes, hint, requestIds: this.requestIds?.ids },
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

/** A lookup that answers 404 found nothing: undefined instead of an error. */
export function unlessNotFound<T>(lookup: Promise<T>): Promise<T | undefined> {
  return lookup.catch((error: unknown) => {
    if (error instanceof ApiError && error.status === 404) return undefined;
    throw error;
  });
}

/** What to do about a failure no step explained, from its kind alone: every message carries a fix. */
const FALLBACK_HINTS: Partial<Record<ErrorKind, string>> = {
  'invalid-input': 'Fix what the message names, then run the same command again.',
  unauthorized: 'Check SPOTINST_TOKEN and your Azure sign-in (az login), then run again.',
  forbidden: 'Ask an administrator for the permission the message names, then run again.',
  'not-found': 'Check the ids you passed (--account-id, --subscription), then run again.',
  conflict: 'Something else changed the same object meanwhile; run the same command again, it reuses what exists.',
  throttled: 'The API is throttling requests; wait a minute, then run the same command again.',
  unavailable: 'The service failed or could not be reached; run the same command again later, it continues where it stopped.',
};

/** The one paragraph a user sees for a failure: what went wrong and what to do; stacks only when verbose. */
export function describeFailure(error: unknown, verbose: boolean): string {
  if (error instanceof UsageError) {
    return `Usage error:\n${error.problems.map((p) => `  - ${p}`).join('\n')}\n${error.hint ?? ''}`;
  }
  if (error instanceof OnboardError) {
    const hint = error.hint ?? FALLBACK_HINTS[error.kind];
    const text = `Error: ${error.message}${hint ? ` ${hint}` : ''}${error.requestIds ? ` ${describeRequestIds(error.requestIds)}` : ''}`;
    return verbose ? `${text}\n${stackOf(error)}` : text;
  }
  const message = error instanceof Error ? error.message : String(error);
  return verbose
    ? `Unexpected error: ${message}\n${stackOf(error)}`
    : `Unexpected error: ${message} Run again with --verbose for details; the state file lets a re-run continue where this one stopped.`;
}

/** The failed request's ids, last in the paragraph, where support looks for them. */
export function describeRequestIds({ api, ids }: ServiceRequestIds): string {
  return `(${SERVICE_NAMES[api]} ${Object.entries(ids)
    .map(([name, value]) => `${name} ${value}`)
    .join(', ')})`;
}

function stackOf(error: unknown): string {
  const lines: string[] = [];
  for (let e: unknown = error; e instanceof Error; e = e.cause) lines.push(e.stack ?? String(e));
  return lines.join('\ncaused by: ');
}

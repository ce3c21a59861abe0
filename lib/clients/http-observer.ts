import diagnosticsChannel from 'node:diagnostics_channel';
import type { ClientRequest, IncomingMessage } from 'node:http';
import type { Endpoints } from '../config/config.ts';
import { type AuditEntry, currentRetry, publishAudit } from '../core/audit.ts';
import type { Api } from '../core/errors.ts';
import { requestIdsFromHeaders } from './request-ids.ts';

/*
 * Node announces every HTTP request on diagnostics channels: `undici:request:*` for fetch (the Graph
 * client), `http.client.*` for node:http(s) (the ARM pipeline and the identity client MSAL uses).
 * Watching them sees every request, the SDKs' own retries included, without reaching into three
 * SDKs. Spot's requests are announced by the Spot client itself (its request id is in the body,
 * which these channels do not show), so they are skipped here.
 */

interface Sent {
  service: Exclude<Api, 'spot'>;
  method: string;
  url: string;
  time: string;
  started: number;
  retry: number;
}

/** An undici request as its diagnostics channels show it (undici docs, api/DiagnosticsChannel.md). */
interface UndiciRequest {
  origin: string;
  method: string;
  path: string;
  /** Flat name, value, name, value… */
  headers: string[] | string;
}

/** Starts announcing the requests to Entra ID, Graph and ARM on the audit channel; returns the way to stop. */
export function observeHttp(endpoints: Endpoints): () => void {
  const serviceOf = serviceByUrl(endpoints);
  // The request objects of both channels (undici's and ClientRequest), until their answer or failure.
  const inFlight = new WeakMap<object, Sent>();
  // The ARM pipeline and the identity client resend the same request, x-ms-client-request-id and all, on
  // their own retries (core-rest-pipeline setClientRequestIdPolicy, retryPolicy): the count of earlier
  // sends with that id is the SDK's retry number.
  const sendsById = new Map<string, number>();

  const sent = (url: string, method: string, retry: number): Sent | undefined => {
    const service = serviceOf(url);
    if (!service) return undefined;
    return { service, method, url, time: new Date().toISOString(), started: performance.now(), retry: currentRetry() + retry };
  };
  const entry = (s: Sent, status: number, requestIds: Record<string, string>, error?: string): AuditEntry => ({
    time: s.time,
    service: s.service,
    method: s.method,
    url: s.url,
    status,
    durationMs: Math.round(performance.now() - s.started),
    retry: s.retry,
    requestIds,
    ...(error ? { error } : {}),
  });

  const settle = (request: object, status: number, requestIds: (service: Sent['service']) => Record<string, string>, error?: string) => {
    const s = inFlight.get(request);
    if (!s) return;
    inFlight.delete(request);
    // Answered: the SDK sends that request no more, so its id need not be counted any longer.
    const clientRequestId = (request as Partial<ClientRequest>).getHeader?.('x-ms-client-request-id');
    if (status >= 200 && status < 300 && typeof clientRequestId === 'string') sendsById.delete(clientRequestId);
    publishAudit(entry(s, status, requestIds(s.service), error));
  };
  const failed = ({ request, error }: { request: object; error: Error }) => settle(request, 0, () => ({}), error.message);

  const handlers: [string, (message: unknown) => void][] = [
    [
      'undici:request:create',
      (message) => {
        const { request } = message as { request: UndiciRequest };
        // The Graph client's RetryHandler numbers its retries in this header (msgraph-sdk-javascript RetryHandler.ts).
        const s = sent(`${request.origin}${request.path}`, request.method, Number(headerOf(request.headers, 'retry-attempt') ?? 0));
        if (s) inFlight.set(request, s);
      },
    ],
    [
      'undici:request:headers',
      (message) => {
        const { request, response } = message as { request: object; response: { statusCode: number; headers: (Buffer | string)[] } };
        settle(request, response.statusCode, (service) => requestIdsFromHeaders(service, (name) => headerOf(response.headers, name)));
      },
    ],
    ['undici:request:error', (message) => failed(message as { request: object; error: Error })],
    [
      'http.client.request.start',
      (message) => {
        const { request } = message as { request: ClientRequest };
        const clientRequestId = request.getHeader('x-ms-client-request-id');
        let retry = 0;
        if (typeof clientRequestId === 'string') {
          retry = sendsById.get(clientRequestId) ?? 0;
          sendsById.set(clientRequestId, retry + 1);
        }
        const s = sent(urlOf(request), request.method, retry);
        if (s) inFlight.set(request, s);
      },
    ],
    [
      'http.client.response.finish',
      (message) => {
        const { request, response } = message as { request: ClientRequest; response: IncomingMessage };
        settle(request, response.statusCode ?? 0, (service) => requestIdsFromHeaders(service, (name) => headerValue(response.headers[name])));
      },
    ],
    ['http.client.request.error', (message) => failed(message as { request: object; error: Error })],
  ];
  for (const [name, handler] of handlers) diagnosticsChannel.subscribe(name, handler);
  return () => {
    for (const [name, handler] of handlers) diagnosticsChannel.unsubscribe(name, handler);
  };
}

/** Which service a URL belongs to, by the longest endpoint it starts with (a proxy may put several on one host). */
function serviceByUrl(endpoints: Endpoints): (url: string) => Exclude<Api, 'spot'> | undefined {
  const bases = (
    [
      [endpoints.authorityHost, 'identity'],
      [endpoints.graph, 'graph'],
      [endpoints.arm, 'arm'],
      [endpoints.spot, 'spot'],
    ] as const
  )
    .map(([base, service]) => [new URL(base).href.replace(/\/$/, ''), service] as const)
    .sort((a, b) => b[0].length - a[0].length);
  return (url) => {
    const href = new URL(url).href;
    const service = bases.find(([base]) => href === base || href.startsWith(`${base}/`))?.[1];
    return service === 'spot' ? undefined : service;
  };
}

function headerOf(headers: readonly (Buffer | string)[] | string, name: string): string | undefined {
  if (typeof headers === 'string') {
    // Older undici gives request headers as one "name: value\r\n…" string.
    const line = headers.split('\r\n').find((l) => l.toLowerCase().startsWith(`${name}:`));
    return line?.slice(name.length + 1).trim();
  }
  for (let i = 0; i + 1 < headers.length; i += 2) {
    if (String(headers[i]).toLowerCase() === name) return String(headers[i + 1]);
  }
  return undefined;
}

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/** The Host header carries the port when it is not the default one; `request.host` never does. */
function urlOf(request: ClientRequest): string {
  const host = request.getHeader('host');
  return `${request.protocol}//${typeof host === 'string' ? host : request.host}${request.path}`;
}

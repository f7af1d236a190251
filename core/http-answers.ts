/**
 * The answers an HTTP server gives before (or instead of) its request handler (pure): a refused connection, a
 * request head that broke the parser or came too slowly, an HTTP/1.1 request without `Host`. Each has a status
 * and a reason; an ErrorBody renders the reason the way the server answers its own errors.
 */
import type { Admission } from './http-limits.js';

/** How a server renders an error reason: the activator as text, the broker ingress as JSON, the control API as a Kubernetes Status. */
export type ErrorBody = (status: number, message: string) => { contentType: string; body: string };

/** `{"error": "<reason>"}` (the broker ingress's error body). */
export const jsonErrorBody: ErrorBody = (_status, message) => ({ contentType: 'application/json; charset=utf-8', body: JSON.stringify({ error: message }) });

/** `<reason>\n` as text/plain (the service ingress's error body, like Knative's activator). */
export const textErrorBody: ErrorBody = (_status, message) => ({ contentType: 'text/plain; charset=utf-8', body: `${message}\n` });

const KUBERNETES_REASONS: Readonly<Record<number, string>> = Object.freeze({
  400: 'BadRequest',
  408: 'Timeout',
  413: 'RequestEntityTooLarge',
  431: 'RequestEntityTooLarge',
  503: 'ServiceUnavailable',
});

/** A Kubernetes `Status` (the control API's error body). */
export const kubernetesStatusBody: ErrorBody = (status, message) => ({
  contentType: 'application/json',
  body: JSON.stringify({
    apiVersion: 'v1',
    kind: 'Status',
    status: 'Failure',
    message,
    reason: KUBERNETES_REASONS[status] ?? 'BadRequest',
    details: { causes: [] },
    code: status,
  }),
});

const STATUS_TEXT: Readonly<Record<number, string>> = Object.freeze({
  400: 'Bad Request',
  408: 'Request Timeout',
  413: 'Content Too Large',
  431: 'Request Header Fields Too Large',
  503: 'Service Unavailable',
});

export interface Answer {
  status: number;
  message: string;
  /** Seconds for `Retry-After`, when trying again later can succeed. */
  retryAfterSeconds?: number;
}

/** What a refused connection is told. */
export function refusalAnswer(verdict: Exclude<Admission, 'accepted'>, client: string, limit: number): Answer {
  const message =
    verdict === 'client-limit'
      ? `too many connections from ${client}: at most ${limit} at once per client address; close idle connections or retry later`
      : `too many connections to this port: at most ${limit} at once; retry later`;
  return { status: 503, message, retryAfterSeconds: 1 };
}

/** What the parser or a deadline ended: the facts the answer needs about the server and the connection. */
export interface ClientErrorFacts {
  /** `err.code` of node's `clientError`. */
  code: string | undefined;
  /** `err.message` of node's `clientError`. */
  message: string;
  /** Whether the request head had arrived (a response object exists) when the error came. */
  headComplete: boolean;
  headersTimeoutMs: number;
  requestTimeoutMs: number;
  maxHeaderBytes: number;
}

/** The answer to a client error; undefined when there is no one to answer (the peer reset the connection). */
export function clientErrorAnswer(f: ClientErrorFacts): Answer | undefined {
  switch (f.code) {
    case 'ECONNRESET':
      return undefined;
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return f.headComplete
        ? { status: 408, message: `request timeout: the request did not arrive completely within ${f.requestTimeoutMs} ms` }
        : { status: 408, message: `request timeout: the request line and headers did not arrive within ${f.headersTimeoutMs} ms` };
    case 'HPE_HEADER_OVERFLOW':
      return { status: 431, message: `request header fields too large: the request line and headers must fit in ${f.maxHeaderBytes} bytes` };
    case 'HPE_CHUNK_EXTENSIONS_OVERFLOW':
      return { status: 413, message: 'chunk extensions too large: the chunked body carries more extension bytes than allowed' };
    default:
      return { status: 400, message: `bad request: ${f.message}` };
  }
}

/** The answer to an HTTP/1.1 request without a `Host` header (RFC 9112 §3.2). */
export const MISSING_HOST: Readonly<Answer> = Object.freeze({
  status: 400,
  message: 'bad request: an HTTP/1.1 request must have a Host header (RFC 9112 section 3.2)',
});

/** The answer to a request with more than one `Host` header field line (RFC 9112 §3.2). */
export const DUPLICATE_HOST: Readonly<Answer> = Object.freeze({
  status: 400,
  message: 'bad request: more than one Host header (RFC 9112 section 3.2)',
});

/** The header fields of an answer's response (every answer closes the connection). */
export function answerHeaders(a: Answer, render: ErrorBody): { headers: Record<string, string>; body: string } {
  const { contentType, body } = render(a.status, a.message);
  const headers: Record<string, string> = { 'content-type': contentType, 'content-length': String(Buffer.byteLength(body)), connection: 'close' };
  if (a.retryAfterSeconds !== undefined) headers['retry-after'] = String(a.retryAfterSeconds);
  return { headers, body };
}

/** A whole HTTP/1.1 response as bytes to write straight to a socket (there is no ServerResponse yet). */
export function rawResponse(a: Answer, render: ErrorBody): string {
  const { headers, body } = answerHeaders(a, render);
  let head = `HTTP/1.1 ${a.status} ${STATUS_TEXT[a.status] ?? 'Error'}\r\n`;
  for (const [name, value] of Object.entries(headers)) head += `${name}: ${value}\r\n`;
  return `${head}\r\n${body}`;
}

/**
 * Puts Wisp's connection limits and early answers on a node:http (or https) server, the same way for the
 * service ingress, the broker ingress and the control API:
 *
 * - at most `maxConnections` open connections per server and `maxConnectionsPerClient` per client address;
 * - a request head must arrive within `headersTimeoutMs` (node's own headersTimeout, checked every `checkIntervalMs`);
 * - client errors get a status and a reason in the server's error format: 408 for a timeout, 431 for an
 *   oversized head, 400 for a malformed one; an HTTP/1.1 request without `Host` gets 400 with a reason.
 *
 * A refused connection gets `503` with `Retry-After: 1`, `Connection: close` and the reason, written once at
 * accept time (a few hundred bytes: the kernel takes them at once) and then the socket is destroyed at once:
 * nothing of a refused connection is read, parsed or kept, so refusing costs one write and no descriptor stays
 * open for it. It is a plain close where even that would cost too much: on a TLS server (an https control API)
 * a 503 could only be sent after a TLS handshake, the very work a flood should not get, so the refused TCP
 * connection is closed unanswered; and when the socket is no longer writable.
 *
 * The work per connection is one Map lookup and update on accept and on close; per request, one wrapper call and
 * node's own `Host` check (`req.headers.host`, which node reads for every HTTP/1.1 request anyway), moved here
 * from node (`requireHostHeader`, which answers an empty 400) to answer with a reason.
 */
import type { Server } from 'node:http';
import type { Socket } from 'node:net';
import { Server as TlsServer } from 'node:tls';
import { answerHeaders, clientErrorAnswer, jsonErrorBody, DUPLICATE_HOST, MISSING_HOST, rawResponse, refusalAnswer, type ErrorBody } from './http-answers.js';
import { ConnectionTable, resolveHttpLimits, type HttpLimits, type HttpLimitsInput } from './http-limits.js';

/** node's default limit of a request head, when the server sets none (`--max-http-header-size`). */
const NODE_MAX_HEADER_SIZE = 16 * 1024;

export interface HttpGuardOptions extends HttpLimitsInput {
  /** How error reasons are rendered. Default `{"error": "<reason>"}`. */
  errorBody?: ErrorBody;
}

export interface HttpGuard {
  readonly limits: Readonly<HttpLimits>;
  /** Open (accepted) connections now. */
  readonly connections: number;
  /** Open connections of one client address now. */
  connectionsOf(client: string): number;
}

const CLIENT = Symbol('wisp.http-guard.client');
type GuardedSocket = Socket & { [CLIENT]?: string; _httpMessage?: { headersSent?: boolean } | null };
type Listener = (this: Server, ...args: unknown[]) => void;
/** Fields node's http.Server has (and reads on every check / request) that @types/node does not declare. */
type NodeHttpServer = Server & { connectionsCheckingInterval: number; requireHostHeader: boolean; maxHeaderSize?: number };

/**
 * Guards `server`. Call it after the request listener is attached and before `listen()` (node starts its
 * deadline checker on listen). The guard takes over the server's `clientError` answers: listeners there before
 * are removed (Fastify's default one among them).
 */
export function guardHttpServer(httpServer: Server, opts: HttpGuardOptions = {}): HttpGuard {
  const server = httpServer as NodeHttpServer;
  if (server.listening) throw new Error('guardHttpServer: guard the server before listen() (its deadline checker starts on listen)');
  const limits = resolveHttpLimits(opts);
  const render = opts.errorBody ?? jsonErrorBody;
  const table = new ConnectionTable(limits);
  // Before the TLS handshake there is no way to send an HTTP answer: a refused connection is closed unanswered.
  const answerRefusals = !(httpServer instanceof TlsServer);

  server.headersTimeout = limits.headersTimeoutMs;
  server.connectionsCheckingInterval = limits.checkIntervalMs;
  // Answered below, with a reason, instead of node's empty 400.
  server.requireHostHeader = false;

  const onClose = function (this: GuardedSocket): void {
    const client = this[CLIENT];
    if (client !== undefined) table.release(client);
  };

  const accepted = takeListeners(server, 'connection');
  server.on('connection', (socket: GuardedSocket) => {
    const client = socket.remoteAddress;
    if (client === undefined) return void socket.destroy(); // already gone
    const verdict = table.admit(client);
    if (verdict !== 'accepted') {
      if (!answerRefusals) return void socket.destroy();
      const limit = verdict === 'client-limit' ? limits.maxConnectionsPerClient : limits.maxConnections;
      return answerAndClose(socket, rawResponse(refusalAnswer(verdict, client, limit), render));
    }
    socket[CLIENT] = client;
    socket.once('close', onClose);
    for (const l of accepted) l.call(server, socket);
  });

  takeListeners(server, 'clientError');
  server.on('clientError', (err: NodeJS.ErrnoException, socket: GuardedSocket) => {
    const response = socket._httpMessage;
    const answer = clientErrorAnswer({
      code: err.code,
      message: err.message,
      headComplete: response != null,
      headersTimeoutMs: server.headersTimeout,
      requestTimeoutMs: server.requestTimeout,
      maxHeaderBytes: server.maxHeaderSize ?? NODE_MAX_HEADER_SIZE,
    });
    // A response already on its way cannot be followed by another one: cutting the connection is all that is left.
    if (answer === undefined || response?.headersSent === true) return void socket.destroy();
    answerAndClose(socket, rawResponse(answer, render));
  });

  const handlers = takeListeners(server, 'request');
  if (handlers.length === 0) throw new Error('guardHttpServer: attach the request listener before guarding the server');
  const only = handlers.length === 1 ? handlers[0] : undefined;
  const missingHost = answerHeaders(MISSING_HOST, render);
  const duplicateHost = answerHeaders(DUPLICATE_HOST, render);
  server.on('request', (req, res) => {
    const bad = req.headers.host === undefined ? (req.httpVersionMajor === 1 && req.httpVersionMinor === 1 ? missingHost : undefined) : hostLines(req.rawHeaders) > 1 ? duplicateHost : undefined;
    if (bad !== undefined) {
      req.resume();
      res.writeHead(400, bad.headers);
      res.end(bad.body);
      return;
    }
    if (only !== undefined) return void only.call(server, req, res);
    for (const l of handlers) l.call(server, req, res);
  });

  return {
    limits,
    get connections() {
      return table.total;
    },
    connectionsOf: (client) => table.of(client),
  };
}

/**
 * How many `Host` field lines the request has. node keeps only the first in `req.headers`, so two of them (which
 * could route one hop by one and the next by the other) are only visible in the raw list; a few compares per request.
 */
function hostLines(raw: readonly string[]): number {
  let n = 0;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] as string;
    if (name.length === 4 && name.toLowerCase() === 'host') n++;
  }
  return n;
}

/** Removes and returns the listeners of `event`, to call them from the guard's own one. */
function takeListeners(server: Server, event: 'connection' | 'clientError' | 'request'): Listener[] {
  const listeners = server.listeners(event) as Listener[];
  server.removeAllListeners(event);
  return listeners;
}

/** Writes a complete response (small enough for the kernel to take at once) and closes the socket without waiting. */
function answerAndClose(socket: Socket, bytes: string): void {
  if (socket.listenerCount('error') === 0) socket.on('error', ignore);
  if (socket.writable) socket.write(bytes);
  socket.destroy();
}

function ignore(): void {}

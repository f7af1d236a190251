/**
 * Connection limits of Wisp's HTTP servers (pure: no I/O, no clock): the defaults, their validation, and the
 * admission table the guard (http-guard.ts) asks on every accepted connection.
 *
 * Why these defaults. `wisp up` runs the service ingress, the broker ingress and the control API in one process,
 * and every open connection is a file descriptor of that process. The service ingress also opens one upstream
 * connection to a replica per request it proxies, so its inbound connections can cost twice. With 4096 per port:
 * 4096 × 2 (service ingress, in + out) + 4096 (broker) + 4096 (control API) = 16 384 descriptors at most, which
 * leaves a few thousand of a 20 000 limit for replica pipes, Redis and Kafka clients, deliveries and state files.
 * 512 per client address (1/8 of a port) is above what the platform's own clients open from 127.0.0.1 (the
 * dispatcher's 100 connections per subscriber origin, the benchmarks' 256) and lets one address hold at most an
 * eighth of a port, so eight flooding addresses are needed to fill it. A client has 5 s (node's default: 60 s) from
 * its first byte (from the connection's accept for its first request) to send a complete request head, so a
 * slow-header connection holds its slot for about 5 s instead of a minute; node checks the deadlines every
 * `checkIntervalMs`, so a header timeout fires between `headersTimeoutMs` and `headersTimeoutMs + checkIntervalMs`.
 */
import { InvalidHttpLimitsError } from './errors.js';

export interface HttpLimits {
  /** Open connections one server (one port) holds at once; more are refused. */
  maxConnections: number;
  /** Open connections one client address holds at once on one server; more are refused. */
  maxConnectionsPerClient: number;
  /** Time a request head (request line and headers) may take to arrive (ms); later: 408. */
  headersTimeoutMs: number;
  /** How often the server checks the header (and request) deadlines (ms). */
  checkIntervalMs: number;
}

export type HttpLimitsInput = Partial<HttpLimits>;

export const HTTP_LIMITS_DEFAULTS: Readonly<HttpLimits> = Object.freeze({
  maxConnections: 4096,
  maxConnectionsPerClient: 512,
  headersTimeoutMs: 5_000,
  checkIntervalMs: 1_000,
});

/** Defaults → given values → validated and frozen. `checkIntervalMs` defaults to a fifth of a shorter header timeout. */
export function resolveHttpLimits(input: HttpLimitsInput = {}): Readonly<HttpLimits> {
  const headersTimeoutMs = input.headersTimeoutMs ?? HTTP_LIMITS_DEFAULTS.headersTimeoutMs;
  const limits: HttpLimits = {
    maxConnections: input.maxConnections ?? HTTP_LIMITS_DEFAULTS.maxConnections,
    maxConnectionsPerClient: input.maxConnectionsPerClient ?? HTTP_LIMITS_DEFAULTS.maxConnectionsPerClient,
    headersTimeoutMs,
    checkIntervalMs: input.checkIntervalMs ?? Math.min(HTTP_LIMITS_DEFAULTS.checkIntervalMs, Math.max(1, Math.ceil(headersTimeoutMs / 5))),
  };
  for (const [field, value] of Object.entries(limits)) {
    if (!Number.isSafeInteger(value) || value < 1) {
      throw new InvalidHttpLimitsError(`HTTP limits: ${field} must be a positive integer, got ${String(value)}`);
    }
  }
  if (limits.maxConnectionsPerClient > limits.maxConnections) {
    throw new InvalidHttpLimitsError(
      `HTTP limits: maxConnectionsPerClient (${limits.maxConnectionsPerClient}) must not be over maxConnections (${limits.maxConnections})`,
    );
  }
  if (limits.checkIntervalMs > limits.headersTimeoutMs) {
    throw new InvalidHttpLimitsError(
      `HTTP limits: checkIntervalMs (${limits.checkIntervalMs}) must not be over headersTimeoutMs (${limits.headersTimeoutMs}), or timeouts fire late`,
    );
  }
  return Object.freeze(limits);
}

/** What the table says about a new connection. */
export type Admission = 'accepted' | 'client-limit' | 'port-limit';

/**
 * Open connections per client address and in total, for one server. `admit` counts an accepted connection;
 * every accepted connection is `release`d exactly once when it closes. Entries of clients with no connection
 * left are deleted, so the table holds at most one entry per open connection.
 */
export class ConnectionTable {
  readonly #maxTotal: number;
  readonly #maxPerClient: number;
  readonly #byClient = new Map<string, number>();
  #total = 0;

  constructor(limits: Pick<HttpLimits, 'maxConnections' | 'maxConnectionsPerClient'>) {
    this.#maxTotal = limits.maxConnections;
    this.#maxPerClient = limits.maxConnectionsPerClient;
  }

  /** A client over its own cap is told so even when the port is full too: it is the one to back off. */
  admit(client: string): Admission {
    const n = this.#byClient.get(client) ?? 0;
    if (n >= this.#maxPerClient) return 'client-limit';
    if (this.#total >= this.#maxTotal) return 'port-limit';
    this.#byClient.set(client, n + 1);
    this.#total++;
    return 'accepted';
  }

  release(client: string): void {
    const n = this.#byClient.get(client);
    if (n === undefined) return;
    if (n <= 1) this.#byClient.delete(client);
    else this.#byClient.set(client, n - 1);
    this.#total--;
  }

  /** Open connections in total. */
  get total(): number {
    return this.#total;
  }

  /** Open connections of one client address. */
  of(client: string): number {
    return this.#byClient.get(client) ?? 0;
  }
}

/**
 * The Redis broker's two ioredis connections and how their state becomes errors.
 *
 * - The PRODUCER connection (publish, ensureBroker, subscribe bookkeeping, BullMQ `Queue`s) fails fast:
 *   `enableOfflineQueue: false` and `maxRetriesPerRequest: 0` make a command sent while Redis is down reject
 *   at once instead of waiting in ioredis's offline queue, and `commandTimeout` bounds a command to a Redis
 *   that accepts the connection but does not answer. Callers see a retriable BackendUnavailableError.
 * - The WORKER connection (shared by every BullMQ `Worker` of the backend; each Worker duplicates it for its
 *   blocking reads) waits instead: `maxRetriesPerRequest: null` (BullMQ requires it) and the offline queue on,
 *   so workers ride out an outage and resume by themselves once ioredis reconnects.
 * Both reconnect forever with `retryStrategy` (200 ms doubling to 2 s), so an outage costs at most ~2 s of
 * extra delay after Redis returns.
 */
import { Redis, type RedisOptions } from 'ioredis';
import type { Clock } from '../../../src/clock.js';
import { BackendUnavailableError } from '../../errors.js';

export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';
export const DEFAULT_CONNECT_TIMEOUT_MS = 2_000;
export const DEFAULT_COMMAND_TIMEOUT_MS = 5_000;

/** Delay before reconnect attempt `times` (1-based): 200, 400, 800, 1600, 2000, 2000, ... ms. */
export function reconnectDelayMs(times: number): number {
  return Math.min(100 * 2 ** Math.min(Math.max(1, times), 5), 2_000);
}

/** The URL without its password, for messages. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password !== '') u.password = '***';
    return u.toString().replace(/\/$/, '');
  } catch {
    return '<invalid Redis URL>';
  }
}

export interface ConnectionOptions {
  url: string;
  clock: Clock;
  connectTimeoutMs: number;
  commandTimeoutMs: number;
}

export function createProducerClient(o: ConnectionOptions): Redis {
  const opts: RedisOptions = {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    commandTimeout: o.commandTimeoutMs,
    connectTimeout: o.connectTimeoutMs,
    // One pipeline per tick: the adds of a fan-out (and of concurrent publishes) share a write and a round trip.
    enableAutoPipelining: true,
    retryStrategy: reconnectDelayMs,
    connectionName: 'wisp-broker-producer',
  };
  return new Redis(o.url, opts);
}

export function createWorkerClient(o: ConnectionOptions): Redis {
  const opts: RedisOptions = {
    maxRetriesPerRequest: null,
    connectTimeout: o.connectTimeoutMs,
    retryStrategy: reconnectDelayMs,
    connectionName: 'wisp-broker-worker',
  };
  return new Redis(o.url, opts);
}

/**
 * Watches one client: remembers its last error and turns "not connected" into a BackendUnavailableError.
 * Before the first successful connection an operation waits up to `connectTimeoutMs` for it (a fresh backend
 * must not fail its first ensureBroker while the socket is still opening); once a connection attempt has
 * failed, or after the connection was lost, operations fail at once until ioredis has reconnected.
 */
export class ConnectionWatch {
  readonly label: string;
  #lastError: string | undefined;
  #failedSinceReady = false;

  constructor(readonly client: Redis, private readonly o: ConnectionOptions, onStateChange: (msg: string) => void) {
    this.label = `Redis at ${redactUrl(o.url)}`;
    client.on('error', (err: unknown) => {
      const msg = describeError(err);
      const wasHealthy = !this.#failedSinceReady;
      this.#lastError = msg;
      this.#failedSinceReady = true;
      if (wasHealthy) onStateChange(`${this.label} unavailable: ${msg} (reconnecting)`);
    });
    client.on('close', () => {
      this.#failedSinceReady = true;
      this.#lastError ??= 'connection closed';
    });
    client.on('ready', () => {
      const wasDown = this.#failedSinceReady;
      this.#failedSinceReady = false;
      this.#lastError = undefined;
      if (wasDown) onStateChange(`${this.label} connected again`);
    });
  }

  health(): { ok: boolean; reason?: string } {
    if (this.client.status === 'ready') return { ok: true };
    return { ok: false, reason: `${this.label}: ${this.#lastError ?? `connection ${this.client.status}`}` };
  }

  /** Resolves when the client can take commands; rejects with BackendUnavailableError (for `broker`) otherwise. */
  async ready(broker: string): Promise<void> {
    const c = this.client;
    if (c.status === 'ready') return;
    if (c.status === 'end' || c.status === 'close' || this.#failedSinceReady) throw this.unavailable(broker);
    await new Promise<void>((resolve, reject) => {
      const done = (err?: BackendUnavailableError): void => {
        timer.cancel();
        c.off('ready', onReady);
        c.off('error', onError);
        if (err === undefined) resolve();
        else reject(err);
      };
      const onReady = (): void => done();
      const onError = (): void => done(this.unavailable(broker));
      const timer = this.o.clock.setTimeout(() => done(this.unavailable(broker, `not connected after ${this.o.connectTimeoutMs} ms`)), this.o.connectTimeoutMs);
      c.once('ready', onReady);
      c.once('error', onError);
    });
  }

  /** `broker`: `<ns>/<name>` the operation was for; the reason names the Redis URL and what failed. */
  unavailable(broker: string, reason?: string, cause?: unknown): BackendUnavailableError {
    const why = reason ?? this.#lastError ?? `connection ${this.client.status}`;
    return new BackendUnavailableError(broker, `${this.label}: ${why}`, cause === undefined ? {} : { cause });
  }

  /**
   * Runs `op` for `broker` once the client is ready; any failure, or no answer within the command timeout, is
   * unavailability (`what` names the operation in the message).
   */
  async run<T>(broker: string, what: string, op: () => Promise<T>): Promise<T> {
    await this.ready(broker);
    try {
      return await withTimeout(this.o.clock, op(), this.o.commandTimeoutMs, `no answer within ${this.o.commandTimeoutMs} ms`);
    } catch (err) {
      if (err instanceof BackendUnavailableError) throw err;
      throw this.unavailable(broker, `${what}: ${describeError(err)}`, err);
    }
  }
}

function withTimeout<T>(clock: Clock, p: Promise<T>, ms: number, why: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = clock.setTimeout(() => reject(new Error(why)), ms);
    p.then(
      (v) => {
        timer.cancel();
        resolve(v);
      },
      (err: unknown) => {
        timer.cancel();
        reject(err);
      },
    );
  });
}

export function describeError(err: unknown): string {
  if (err instanceof AggregateError && err.errors.length > 0) return describeError(err.errors[0]);
  if (err instanceof Error) return err.message !== '' ? err.message : err.name;
  return String(err);
}

/** Every default of the `wisp` CLI, in one place. */
import type { BrokerClass } from '../platform/types.js';

export const CLI_DEFAULTS = Object.freeze({
  server: 'http://127.0.0.1:8090',
  namespace: 'default',
  stateDir: '.wisp',
  host: '127.0.0.1',
  /** The control API's bind, separate from `host`. */
  apiHost: '127.0.0.1',
  ingressPort: 8080,
  brokerPort: 8081,
  apiPort: 8090,
  brokerClass: 'Memory' as BrokerClass,
  /** Per HTTP call to the control API (until the answer's headers for streams). */
  requestTimeoutMs: 30_000,
  /** `apply --wait` */
  waitTimeoutMs: 60_000,
  waitPollMs: 200,
});

export const BROKER_CLASSES: readonly BrokerClass[] = Object.freeze(['Memory', 'Redis', 'Kafka']);
export const LOG_LEVELS = Object.freeze(['debug', 'info', 'warn', 'error', 'silent'] as const);
export type LogLevel = (typeof LOG_LEVELS)[number];

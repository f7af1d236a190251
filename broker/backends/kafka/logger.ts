/** The logging the Kafka backend needs; pino's logger fits. Defaults: debug silent, warn/error to stderr. */
import type { logCreator, logLevel } from 'kafkajs';

/** kafkajs's `logLevel.NOTHING`, as a value without importing kafkajs (the KafkaSource runner loads it lazily). */
const NOTHING: logLevel.NOTHING = 0;

export interface KafkaLogger {
  debug?(msg: string): void;
  warn(msg: string): void;
  error(msg: string): void;
}

export const stderrLogger: KafkaLogger = Object.freeze({
  warn: (msg: string) => void process.stderr.write(`wisp kafka: ${msg}\n`),
  error: (msg: string) => void process.stderr.write(`wisp kafka: ${msg}\n`),
});

/**
 * Routes kafkajs's own log lines to `logger.debug`: connection failures surface to callers as typed errors
 * (BackendUnavailableError, health()), so kafkajs's retry chatter stays out of warn/error.
 */
export function kafkajsLogCreator(logger: KafkaLogger): logCreator {
  return () => ({ namespace, level, log }) => {
    if (logger.debug === undefined || level === NOTHING) return;
    logger.debug(`kafkajs ${namespace}: ${log.message}`);
  };
}

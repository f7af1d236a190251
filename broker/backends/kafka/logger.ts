/** The logging the Kafka backend needs; pino's logger fits. Defaults: debug silent, warn/error to stderr. */
import { logLevel, type logCreator } from 'kafkajs';

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
    if (logger.debug === undefined || level === logLevel.NOTHING) return;
    logger.debug(`kafkajs ${namespace}: ${log.message}`);
  };
}

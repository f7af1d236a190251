import { pino } from 'pino';

export interface Logger {
  debug(msg: string): void;
  info(msg: string): void;
  warn(msg: string): void;
  error(msg: string): void;
}

/** Structured logs on stderr (pino), so stdout stays for what the user asked for. */
export function createLogger(level: 'debug' | 'info' | 'warn' | 'error' | 'silent'): Logger {
  const logger = pino({ level, base: { name: 'wisp' } }, pino.destination({ fd: 2, sync: false }));
  return {
    debug: (m) => logger.debug(m),
    info: (m) => logger.info(m),
    warn: (m) => logger.warn(m),
    error: (m) => logger.error(m),
  };
}

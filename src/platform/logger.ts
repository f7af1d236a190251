import { Writable } from 'node:stream';
import { pino } from 'pino';

export interface Logger {
  debug(msg: string): void;
  info(msg: string): void;
  warn(msg: string): void;
  error(msg: string): void;
}

const LEVEL_NAMES: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };

/**
 * Logs on stderr (stdout stays for what the user asked for), through pino. `text` turns each pino record into
 * one readable line (`04:11:08.822 INFO  replica ... started`) for a terminal; `json` keeps pino's JSON lines.
 */
export function createLogger(opts: { level: 'debug' | 'info' | 'warn' | 'error' | 'silent'; format: 'text' | 'json' }): Logger {
  const destination = opts.format === 'json' ? pino.destination({ fd: 2, sync: false }) : textStream(process.stderr);
  const logger = pino({ level: opts.level, base: { name: 'wisp' } }, destination);
  return {
    debug: (m) => logger.debug(m),
    info: (m) => logger.info(m),
    warn: (m) => logger.warn(m),
    error: (m) => logger.error(m),
  };
}

/** Formats pino's JSON records as text lines. Exported for tests. */
export function formatRecord(json: string): string {
  try {
    const rec = JSON.parse(json) as { time?: number; level?: number; msg?: string };
    const time = new Date(rec.time ?? 0).toISOString().slice(11, 23);
    return `${time} ${(LEVEL_NAMES[rec.level ?? 30] ?? 'INFO').padEnd(5)} ${rec.msg ?? ''}\n`;
  } catch {
    return json.endsWith('\n') ? json : `${json}\n`;
  }
}

function textStream(out: NodeJS.WritableStream): Writable {
  return new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line) out.write(formatRecord(line));
      done();
    },
  });
}

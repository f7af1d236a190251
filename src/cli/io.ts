/** What a command reads and writes: injected so tests run `main()` in-process. */
import type { Readable, Writable } from 'node:stream';
import type { Clock } from '../clock.js';
import type { ControlApiClient } from './client.js';

export interface CliIo {
  stdout: Writable;
  stderr: Writable;
  stdin: Readable;
  env: NodeJS.ProcessEnv;
  /** Read for AGE columns and `--wait` polling; default the system clock. */
  clock?: Clock;
  /** Ends following commands (`logs -f`) like Ctrl-C would; default SIGINT/SIGTERM of this process. */
  signal?: AbortSignal;
}

export interface CommandContext {
  io: CliIo;
  clock: Clock;
  client: ControlApiClient;
  out(text: string): void;
  err(text: string): void;
}

/** Writes `text`, adding a newline when it has none. */
export function writeLine(stream: Writable, text: string): void {
  stream.write(text.endsWith('\n') ? text : text + '\n');
}

/** An AbortSignal that fires on `io.signal` or, without one, on SIGINT/SIGTERM; `dispose` removes the handlers. */
export function interruption(io: CliIo): { signal: AbortSignal; dispose(): void } {
  if (io.signal) return { signal: io.signal, dispose: () => undefined };
  const controller = new AbortController();
  const onSignal = (sig: NodeJS.Signals): void => controller.abort(new Error(`interrupted by ${sig}`));
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  return {
    signal: controller.signal,
    dispose: () => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}

/** Reads all of stdin as text (for `-f -`). */
export async function readAll(stream: Readable): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer));
  return Buffer.concat(chunks).toString('utf8');
}

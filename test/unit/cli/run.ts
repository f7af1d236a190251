/** Runs `main()` in-process with captured output. */
import { PassThrough, Readable } from 'node:stream';
import type { Clock } from '../../../src/clock.js';
import { main, type MainDeps } from '../../../src/cli/main.js';

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  env?: NodeJS.ProcessEnv;
  stdin?: string;
  clock?: Clock;
  signal?: AbortSignal;
  deps?: MainDeps;
  /** Called with the stdout text as it grows. */
  onStdout?: (text: string) => void;
}

export async function run(argv: string[], opts: RunOptions = {}): Promise<Run> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (c: Buffer) => {
    out += c.toString('utf8');
    opts.onStdout?.(out);
  });
  stderr.on('data', (c: Buffer) => (err += c.toString('utf8')));
  const code = await main(
    argv,
    {
      stdout,
      stderr,
      stdin: Readable.from([opts.stdin ?? '']),
      env: opts.env ?? {},
      ...(opts.clock ? { clock: opts.clock } : {}),
      ...(opts.signal ? { signal: opts.signal } : {}),
    },
    opts.deps ?? {},
  );
  await new Promise((r) => setImmediate(r));
  return { code, stdout: out, stderr: err };
}

import type { RevisionFailure } from '../types.js';

/** How a replica process ended. */
export type ExitInfo =
  | { kind: 'exit'; code: number }
  | { kind: 'signal'; signal: string }
  | { kind: 'spawn-error'; errno: string; message: string }
  | { kind: 'missing-cwd'; cwd: string };

export const MAX_FAILURE_MESSAGE = 1024;

/** Keeps the end of `text` within `max` characters, cut at a line start when possible. */
export function tail(text: string, max = MAX_FAILURE_MESSAGE): string {
  const t = text.trim();
  if (t.length <= max) return t;
  const cut = t.slice(t.length - max);
  const nl = cut.indexOf('\n');
  return (nl >= 0 && nl < cut.length - 1 ? cut.slice(nl + 1) : cut).trim();
}

/** The RevisionFailure for a replica that exited before becoming ready or crashed. Pure. */
export function failureFor(exit: ExitInfo, command: string, stderrLines: readonly string[]): RevisionFailure {
  const stderr = tail(stderrLines.join('\n'));
  switch (exit.kind) {
    case 'spawn-error':
      if (exit.errno === 'ENOENT') return { reason: 'ExitCode127', message: `command not found: ${command}` };
      if (exit.errno === 'EACCES') return { reason: 'ExitCode126', message: `permission denied: ${command}` };
      return { reason: 'SpawnError', message: `cannot start ${command}: ${exit.message}` };
    case 'missing-cwd':
      return { reason: 'WorkingDirNotFound', message: `working directory does not exist: ${exit.cwd}` };
    case 'exit':
      return { reason: `ExitCode${exit.code}`, message: stderr !== '' ? stderr : `${command} exited with code ${exit.code}` };
    case 'signal':
      return { reason: `Signal${exit.signal}`, message: stderr !== '' ? stderr : `${command} was killed by ${exit.signal}` };
  }
}

/**
 * haproxy's master CLI (`-S <socket>`): one connection per batch, half-closed after the commands so the master answers
 * and closes (its non-interactive mode). Commands for the worker carry the `@1` prefix (the current worker), so a
 * command sent just after a reload reaches the new worker, never an old one that is finishing its connections.
 */
import { createConnection } from 'node:net';
import { ServeEngineCommandError } from './errors.js';

export const DEFAULT_COMMAND_TIMEOUT_MS = 5000;

/**
 * Sends `commands` to a CLI socket (the master's; `worker` prefixes each with `@1`), or to a worker's stats socket
 * (`worker: false`). Resolves with the whole answer.
 */
export function masterCommand(socketPath: string, commands: readonly string[], opts: { worker: boolean; timeoutMs?: number }): Promise<string> {
  const line = commands.map((c) => (opts.worker ? `@1 ${c}` : c)).join('; ') + '\n';
  const timeoutMs = opts.timeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS;
  return new Promise((resolve, reject) => {
    const sock = createConnection(socketPath);
    const chunks: Buffer[] = [];
    let done = false;
    const finish = (err: Error | undefined): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.destroy();
      if (err) reject(err);
      else resolve(Buffer.concat(chunks).toString('utf8'));
    };
    const timer = setTimeout(
      () => finish(new ServeEngineCommandError(`haproxy master CLI ${socketPath}: no answer to '${commands[0] ?? ''}'${commands.length > 1 ? ` (+${commands.length - 1})` : ''} within ${timeoutMs} ms`)),
      timeoutMs,
    );
    sock.once('connect', () => sock.end(line));
    sock.on('data', (d: Buffer) => chunks.push(d));
    sock.once('end', () => finish(undefined));
    sock.once('error', (err) => finish(new ServeEngineCommandError(`haproxy master CLI ${socketPath}: ${err.message}`, { cause: err })));
  });
}

/** Lines of an answer that report a refused command (haproxy answers successful mutations with nothing or a note). */
export function refusals(answer: string): string[] {
  return answer
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => /^(unknown|no such|require|unable|invalid|error|.*not found|.*can't|.*cannot|.*failed)/i.test(l));
}

export interface WorkerInfo {
  masterReloads: number;
  failedReloads: number;
  workers: number[];
}

/** `show proc` on the master: the reload counters and the current workers' pids. */
export function parseShowProc(text: string): WorkerInfo {
  let section = '';
  let masterReloads = 0;
  let failedReloads = 0;
  const workers: number[] = [];
  for (const raw of text.split('\n')) {
    const l = raw.trim();
    if (l.startsWith('#')) {
      section = l.slice(1).trim();
      continue;
    }
    const f = l.split(/\s+/);
    if (f.length < 2) continue;
    if (f[1] === 'master') {
      masterReloads = Number(f[2]);
      const m = /failed:\s*(\d+)/.exec(l);
      if (m) failedReloads = Number(m[1]);
    } else if (f[1] === 'worker' && section === 'workers') {
      workers.push(Number(f[0]));
    }
  }
  return { masterReloads, failedReloads, workers };
}

/** Per backend of `show stat` (CSV): requests queued (qcur) plus in a server's hands (scur). */
export function parseBackendLoad(csv: string): Map<string, number> {
  const out = new Map<string, number>();
  const lines = csv.split('\n');
  const header = (lines[0] ?? '').replace(/^#\s*/, '').split(',');
  const px = header.indexOf('pxname');
  const sv = header.indexOf('svname');
  const q = header.indexOf('qcur');
  const s = header.indexOf('scur');
  if (px < 0 || sv < 0 || q < 0 || s < 0) return out;
  for (const line of lines.slice(1)) {
    const f = line.split(',');
    if (f[sv] !== 'BACKEND') continue;
    out.set(f[px]!, (Number(f[q]) || 0) + (Number(f[s]) || 0));
  }
  return out;
}

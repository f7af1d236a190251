/** Running kubectl with a kubeconfig, bounded in time, collecting its output. */
import { spawn } from 'node:child_process';
import type { Env } from '../kafka/tools.js';

export interface KubectlOptions {
  /** Written to kubectl's stdin (e.g. a manifest for `apply -f -`). */
  input?: string;
  /** Kill kubectl after this long (default 60 s); the result then has code -1. */
  timeoutMs?: number;
  /** Another kubeconfig (e.g. from kubeconfigFor); default the admin one. */
  kubeconfig?: string;
}

export interface KubectlResult {
  code: number;
  stdout: string;
  stderr: string;
}

const DEFAULT_KUBECTL_TIMEOUT_MS = 60_000;

/** `kubectl --kubeconfig <kubeconfig> ...args`. Never throws for a non-zero exit (only when kubectl cannot be run). */
export function runKubectl(
  kubectl: string,
  kubeconfig: string,
  args: readonly string[],
  o: KubectlOptions & { env?: Env; cwd?: string } = {},
): Promise<KubectlResult> {
  const timeoutMs = o.timeoutMs ?? DEFAULT_KUBECTL_TIMEOUT_MS;
  return new Promise((resolve, reject) => {
    const child = spawn(kubectl, ['--kubeconfig', kubeconfig, ...args], { env: (o.env ?? process.env) as NodeJS.ProcessEnv, cwd: o.cwd, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(new Error(`cannot run ${kubectl}: ${err.message}`, { cause: err }));
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      if (timedOut) resolve({ code: -1, stdout, stderr: `${stderr}\nkubectl ${args.join(' ')}: killed after ${timeoutMs} ms` });
      else resolve({ code: code ?? -1, stdout, stderr });
    });
    child.stdin.on('error', () => {}); // kubectl may exit before reading all of its input
    child.stdin.end(o.input ?? '');
  });
}

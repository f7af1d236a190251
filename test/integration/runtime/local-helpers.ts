import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Clock } from '../../../src/clock.js';
import type { Container } from '../../../src/api/types.js';
import type { LocalRuntime } from '../../../src/runtime/index.js';
import type { RevisionWorkload } from '../../../src/runtime/types.js';
import { ManualClock } from '../../support/clock.js';

export const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), '../../fixtures/functions');

let seq = 0;
/** A workload running a fixture with `node`; unique revision names per call. */
export function workload(container: Container, over: Partial<RevisionWorkload> = {}): RevisionWorkload {
  const n = ++seq;
  const service = over.service ?? `svc${n}-${process.pid}`;
  const revision = over.revision ?? `${service}-0000${n}`;
  const namespace = over.namespace ?? 'default';
  return {
    key: `${namespace}/${revision}`,
    namespace,
    service,
    configuration: service,
    revision,
    container: { name: 'user-container', ...container },
    baseDir: FIXTURES,
    timeoutSeconds: 5,
    ...over,
  };
}

export function node(script: string, extra: Omit<Container, 'command' | 'args'> = {}): Container {
  return { command: [process.execPath], args: [script], ...extra };
}

/** GET http://host:port/path with a timeout; resolves status and body. */
export function get(host: string, port: number, path = '/', method = 'GET'): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host, port, path, method, agent: false, timeout: 5000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error('request timed out')));
    req.on('error', reject);
    req.end();
  });
}

/** True while `pid` runs. A killed grandchild waits as a zombie until init reaps it: that counts as gone. */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

/** Closes a runtime; with a ManualClock, moves time on so drain timers (SIGKILL) can fire. */
export async function closeRuntime(rt: LocalRuntime, clock: Clock): Promise<void> {
  let done = false;
  const p = rt.close().then(() => (done = true));
  if (clock instanceof ManualClock) {
    const deadline = Date.now() + 20_000;
    while (!done && Date.now() < deadline) {
      clock.advance(1000);
      await new Promise((r) => setTimeout(r, 10));
    }
  }
  await p;
}

/** Advances a ManualClock one probe interval per poll so probes and timers run while waiting. */
export function pump(clock: Clock, ms = 50): void {
  if (clock instanceof ManualClock) clock.advance(ms);
}

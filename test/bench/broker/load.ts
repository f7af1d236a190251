/**
 * Load generators for the broker bench: binary-mode CloudEvents POSTed over undici keep-alive pools.
 * Every event carries `benchsentat` = epoch ms (performance.timeOrigin + performance.now()) taken just
 * before the request is handed to undici, so the subscriber (another process, same clock) can compute
 * the send → receive latency.
 */
import { Pool } from 'undici';

export const EVENT_TYPE = 'dev.wisp.bench';
const BODY = '{"bench":true}';

/** The p-quantile (0..1) of `values` (sorted in place), NaN when empty. */
export function quantile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  values.sort((a, b) => a - b);
  return values[Math.min(values.length - 1, Math.floor(p * values.length))] ?? NaN;
}

export const epochMs = (): number => performance.timeOrigin + performance.now();

export interface Target {
  /** e.g. http://127.0.0.1:8081 */
  origin: string;
  /** e.g. /default/default */
  path: string;
}

export interface LoadResult {
  /** Requests answered 2xx (events accepted). */
  accepted: number;
  /** Requests answered otherwise, or failed. */
  errors: number;
  /** Status codes / error codes of the failures, with counts. */
  errorKinds: Map<string, number>;
  /** Epoch ms of the first send and of the end of the run (the last response). */
  startedAt: number;
  endedAt: number;
  /** Send → response time of every answered request, ms (what the producer waits for). */
  responseMs: number[];
  /** Open loop only: how late the generator's timer fired the latest send, ms. */
  maxSendLagMs?: number;
}

function headers(id: string): Record<string, string> {
  return {
    'ce-specversion': '1.0',
    'ce-id': id,
    'ce-source': '/wisp/bench',
    'ce-type': EVENT_TYPE,
    'ce-benchsentat': epochMs().toFixed(3),
    'content-type': 'application/json',
  };
}

function newResult(): LoadResult {
  return { accepted: 0, errors: 0, errorKinds: new Map(), startedAt: epochMs(), endedAt: 0, responseMs: [] };
}

function fail(r: LoadResult, kind: string): void {
  r.errors++;
  r.errorKinds.set(kind, (r.errorKinds.get(kind) ?? 0) + 1);
}

async function post(pool: Pool, target: Target, id: string, r: LoadResult): Promise<void> {
  const t0 = performance.now();
  try {
    const res = await pool.request({ path: target.path, method: 'POST', headers: headers(id), body: BODY });
    await res.body.dump();
    r.responseMs.push(performance.now() - t0);
    if (res.statusCode >= 200 && res.statusCode < 300) r.accepted++;
    else fail(r, String(res.statusCode));
  } catch (err) {
    const code = typeof err === 'object' && err !== null && 'code' in err ? String((err as { code: unknown }).code) : String(err);
    fail(r, code);
  }
}

/** Sends one event on a fresh connection; returns the status code. */
export async function sendOne(target: Target, id: string): Promise<number> {
  const pool = new Pool(target.origin, { connections: 1 });
  try {
    const res = await pool.request({ path: target.path, method: 'POST', headers: headers(id), body: BODY });
    await res.body.dump();
    return res.statusCode;
  } finally {
    await pool.close();
  }
}

/** Closed loop: `concurrency` workers, each sending its next event as soon as the previous one is answered. */
export async function closedLoop(target: Target, opts: { concurrency: number; seconds: number; idPrefix: string }): Promise<LoadResult> {
  const pool = new Pool(target.origin, { connections: opts.concurrency, pipelining: 1, keepAliveTimeout: 60_000 });
  const r = newResult();
  const end = performance.now() + opts.seconds * 1000;
  let seq = 0;
  const worker = async (): Promise<void> => {
    while (performance.now() < end) await post(pool, target, `${opts.idPrefix}-${seq++}`, r);
  };
  try {
    await Promise.all(Array.from({ length: opts.concurrency }, worker));
    r.endedAt = epochMs();
  } finally {
    await pool.close();
  }
  return r;
}

/**
 * Open loop: `rate` events/s for `seconds`, scheduled on a 1 ms timer that sends every event that is due,
 * never waiting for responses (up to `maxConnections` in flight; more would queue in the pool).
 */
export async function openLoop(target: Target, opts: { rate: number; seconds: number; idPrefix: string; maxConnections?: number }): Promise<LoadResult> {
  const pool = new Pool(target.origin, { connections: opts.maxConnections ?? 256, pipelining: 1, keepAliveTimeout: 60_000 });
  const r = newResult();
  const total = Math.round(opts.rate * opts.seconds);
  const interval = 1000 / opts.rate;
  let maxLag = 0;
  try {
    await new Promise<void>((resolve) => {
      const pending: Promise<void>[] = [];
      const t0 = performance.now() + 20;
      let sent = 0;
      const tick = (): void => {
        const now = performance.now();
        while (sent < total && t0 + sent * interval <= now) {
          maxLag = Math.max(maxLag, now - (t0 + sent * interval));
          pending.push(post(pool, target, `${opts.idPrefix}-${sent}`, r));
          sent++;
        }
        if (sent < total) setTimeout(tick, 1);
        else void Promise.all(pending).then(() => resolve());
      };
      setTimeout(tick, 20);
    });
    r.endedAt = epochMs();
  } finally {
    await pool.close();
  }
  r.maxSendLagMs = maxLag;
  return r;
}
